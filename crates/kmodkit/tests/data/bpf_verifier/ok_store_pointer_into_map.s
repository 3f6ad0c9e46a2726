# type: socket_filter
# map: 2 4 8 1
# expect: accept
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
*(u64 *)(r0 + 0) = r10
out:
r0 = 0
exit
