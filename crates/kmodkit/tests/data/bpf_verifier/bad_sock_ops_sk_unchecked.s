# type: sock_ops
# expect: reject
# class: null
# why: bpf_sock_ops.sk may be NULL
r2 = *(u64 *)(r1 + 184)
r3 = *(u32 *)(r2 + 4)
r0 = 1
exit
