# type: lwt_xmit
# expect: accept
# lwt_xmit programs may call bpf_skb_change_head (lwt_xmit_func_proto)
r2 = 14
r3 = 0
call 43
r0 = 0
exit
