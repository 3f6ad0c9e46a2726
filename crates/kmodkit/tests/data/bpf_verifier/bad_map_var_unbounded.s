# type: xdp
# map: 2 4 64 1
# expect: reject
# class: bounds
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = *(u64 *)(r0 + 0)
r0 += r1
r1 = *(u8 *)(r0 + 0)
out:
r0 = 2
exit
