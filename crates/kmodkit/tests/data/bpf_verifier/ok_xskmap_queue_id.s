# type: xdp
# map: 17 4 4 1
# expect: accept
# An XSKMAP lookup gives an xdp_sock once checked; its queue_id is a readable u32.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r0 = *(u32 *)(r0 + 0)
out:
r0 = 2
exit
