# type: flow_dissector
# expect: accept
# class: helper
# why: flow_dissector_func_proto offers bpf_skb_load_bytes
r2 = 0
r3 = r10
r3 += -8
r4 = 8
call 26
r0 = 0
exit
