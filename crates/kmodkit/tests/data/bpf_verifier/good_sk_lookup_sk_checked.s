# type: sk_lookup
# section: sk_lookup
# expect: accept
# class: null
# why: bpf_sk_lookup.sk is PTR_TO_SOCKET_OR_NULL
r2 = *(u64 *)(r1 + 0)
if r2 == 0 goto out
r3 = *(u32 *)(r2 + 4)
out:
r0 = 0
exit
