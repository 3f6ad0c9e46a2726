# type: sched_cls
# map: 15 4 4 1
# expect: accept
# A socket map lookup takes a reference: released when not NULL.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = r0
call 86
out:
r0 = 0
exit
