# type: sched_cls
# map: 12 4 4 1 inner=2,4,8,1
# expect: accept
# a lookup in a map of maps gives the inner map after its NULL check (mark_ptr_or_null_reg)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = r0
r2 = r10
r2 += -4
call 1
if r0 == 0 goto out
r0 = *(u64 *)(r0 + 0)
out:
r0 = 0
exit
