# type: socket_filter
# expect: reject
# class: bounds
r0 = *(u32 *)(r1 + 88)
exit
