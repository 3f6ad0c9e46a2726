# type: xdp
# map: 17 4 4 1
# expect: reject
# class: bounds
# queue_id is a u32: an 8-byte read is refused.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r0 = *(u64 *)(r0 + 0)
out:
r0 = 2
exit
