# A hash lookup checked against NULL: every kernel accepts it.
# type: socket_filter
# map: 1,4,8,4
# 6.1: accept
# 6.18: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r0 = *(u64 *)(r0 + 0)
out:
r0 = 0
exit
