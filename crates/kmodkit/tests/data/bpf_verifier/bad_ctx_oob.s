# type: xdp
# expect: reject
# class: bounds
r0 = *(u32 *)(r1 + 24)
exit
