# type: sk_reuseport
# expect: reject
# class: bounds
# why: hash is read as a u32 only
r2 = *(u16 *)(r1 + 32)
r0 = 0
exit
