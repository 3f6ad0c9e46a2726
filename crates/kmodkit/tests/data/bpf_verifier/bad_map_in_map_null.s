# type: sched_cls
# map: 12 4 4 1 inner=2,4,8,1
# expect: reject
# class: helper
# why: the outer lookup's result may be NULL when passed as the inner map
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r1 = r0
r2 = r10
r2 += -4
call 1
r0 = 0
exit
