# type: lwt_in
# expect: reject
# class: helper
# lwt_in programs may not call bpf_skb_change_head (only lwt_xmit_func_proto has it)
r2 = 14
r3 = 0
call 43
r0 = 0
exit
