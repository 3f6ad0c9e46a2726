# type: sock_ops
# expect: accept
# class: null
# why: bpf_sock_ops.sk is PTR_TO_SOCKET_OR_NULL; after a NULL check its fields may be read
r2 = *(u64 *)(r1 + 184)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
out:
r0 = 1
exit
