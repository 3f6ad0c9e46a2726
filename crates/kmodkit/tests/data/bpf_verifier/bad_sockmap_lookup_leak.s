# type: sched_cls
# map: 15 4 4 1
# expect: reject
# class: pointer
# A socket map lookup takes a reference that must be released.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r0 = 0
exit
