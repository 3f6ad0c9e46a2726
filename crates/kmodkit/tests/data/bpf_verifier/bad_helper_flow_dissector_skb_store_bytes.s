# type: flow_dissector
# expect: reject
# class: helper
# why: flow_dissector_func_proto has no bpf_skb_store_bytes
r2 = 0
*(u64 *)(r10 - 8) = r2
r3 = r10
r3 += -8
r4 = 8
r5 = 0
call 9
r0 = 0
exit
