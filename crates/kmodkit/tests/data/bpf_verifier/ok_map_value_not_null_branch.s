# type: sched_cls
# map: 1 8 8 1
# expect: accept
# class: null
# why: a checked map value pointer is never 0: the second test always jumps
r1 = 10
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
r1 = map_idx(0, 0) ll
call 1
r6 = r0
if r6 == 0 goto out
if r6 != 0 goto out
r0 -= r2
out:
r0 = 0
exit
