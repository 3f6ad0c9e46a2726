# The same lookup with key 4 of a 4-entry array: NULL is possible on every kernel.
# type: socket_filter
# map: 2,4,8,4
# 6.1: reject
# 6.18: reject
r1 = 4
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
