# type: xdp
# map: 1 4 8 4
# expect: reject
# class: null
# On the side where r7 differs from a valid r6, r7 may still be NULL.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r6 = r0
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r7 = r0
if r6 == 0 goto out
if r6 == r7 goto out
r0 = *(u64 *)(r7 + 0)
out:
r0 = 2
exit
