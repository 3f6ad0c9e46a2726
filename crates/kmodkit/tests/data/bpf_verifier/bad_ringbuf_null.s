# type: tracepoint
# map: 27 0 0 4096
# expect: reject
# class: null
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
call 131
r1 = 42
*(u64 *)(r0 + 0) = r1
r1 = r0
r2 = 0
call 132
r0 = 0
exit
