# type: tracepoint
# expect: reject
# class: bounds
r0 = *(u64 *)(r1 + 0)
r0 = 0
exit
