# type: sk_msg
# expect: reject
# class: bounds
r2 = 1
*(u32 *)(r1 + 68) = r2
r0 = 1
exit
