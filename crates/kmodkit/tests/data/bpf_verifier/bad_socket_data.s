# type: socket_filter
# expect: reject
# class: bounds
r2 = *(u32 *)(r1 + 76)
r0 = 0
exit
