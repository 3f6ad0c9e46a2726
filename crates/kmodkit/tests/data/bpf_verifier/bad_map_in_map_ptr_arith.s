# type: sched_cls
# map: 12 4 4 1 inner=2,4,8,1
# expect: reject
# class: pointer
# why: the checked result of a map-of-maps lookup is the inner map: no arithmetic on it
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = r0
r1 += 8
r2 = r10
r2 += -4
call 1
out:
r0 = 0
exit
