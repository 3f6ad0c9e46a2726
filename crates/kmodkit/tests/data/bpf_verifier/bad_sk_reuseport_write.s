# type: sk_reuseport
# expect: reject
# class: bounds
# why: sk_reuseport_md is read-only
r2 = 0
*(u32 *)(r1 + 32) = r2
r0 = 0
exit
