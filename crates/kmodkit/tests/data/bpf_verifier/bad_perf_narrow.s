# type: perf_event
# expect: reject
# class: bounds
r0 = *(u32 *)(r1 + 8)
r0 = 0
exit
