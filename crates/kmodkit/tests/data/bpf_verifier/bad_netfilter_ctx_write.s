# type: netfilter
# section: netfilter
# expect: reject
# class: bounds
r2 = 0
*(u64 *)(r1 + 8) = r2
r0 = 1
exit
