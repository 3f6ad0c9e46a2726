# type: sk_lookup
# section: sk_lookup
# expect: reject
# class: null
# why: bpf_sk_lookup.sk may be NULL
r2 = *(u64 *)(r1 + 0)
r3 = *(u32 *)(r2 + 4)
r0 = 0
exit
