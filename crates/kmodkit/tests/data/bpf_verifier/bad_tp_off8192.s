# type: tracepoint
# expect: reject
# class: bounds
r0 = *(u32 *)(r1 + 8192)
r0 = 0
exit
