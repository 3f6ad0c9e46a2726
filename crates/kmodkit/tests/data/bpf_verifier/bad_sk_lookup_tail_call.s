# type: sched_cls
# map: 3 4 4 1
# expect: reject
# class: pointer
# A tail call while a socket reference is held would leak it.
r9 = r1
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 == 0 goto out
r6 = r0
r1 = r9
r2 = map_idx(0, 0) ll
r3 = 0
call 12
r1 = r6
call 86
out:
r0 = 0
exit
