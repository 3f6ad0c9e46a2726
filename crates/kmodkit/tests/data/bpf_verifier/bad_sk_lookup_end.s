# type: sk_lookup
# section: sk_lookup
# expect: reject
# class: bounds
# why: nothing of bpf_sk_lookup lies after ingress_ifindex
r2 = *(u32 *)(r1 + 68)
r0 = 1
exit
