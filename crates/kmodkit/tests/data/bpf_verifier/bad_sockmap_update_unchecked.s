# type: sched_cls
# map: 15 4 4 1
# expect: reject
# class: helper
# The value put into a socket map is a socket known not to be NULL.
r3 = *(u64 *)(r1 + 168)
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
r4 = 0
call 2
r0 = 0
exit
