# type: sched_cls
# expect: accept
# bpf_skb_load_bytes_relative fills uninitialised stack, which may then be read.
r2 = 0
r3 = r10
r3 += -8
r4 = 8
r5 = 1
call 68
r0 = *(u64 *)(r10 - 8)
exit
