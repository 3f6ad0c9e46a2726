# type: sk_lookup
# section: sk_lookup
# expect: reject
# class: bounds
# why: bpf_sk_lookup.sk is read as a u64
r2 = *(u32 *)(r1 + 0)
r0 = 1
exit
