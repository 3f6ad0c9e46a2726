# type: sk_lookup
# section: sk_lookup
# expect: reject
# class: bounds
# why: bpf_sk_lookup is read-only
r2 = 0
*(u32 *)(r1 + 8) = r2
r0 = 1
exit
