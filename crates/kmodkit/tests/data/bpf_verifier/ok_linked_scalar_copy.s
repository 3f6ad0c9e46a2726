# type: xdp
# map: 2 4 16 1
# expect: accept
# class: bounds
# why: r8 is a copy of r7, so the bound checked on r7 holds for r8 (linked scalars)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
call 7
r7 = r0
r8 = r7
if r7 > 8 goto out
r6 += r8
r0 = *(u64 *)(r6 + 0)
out:
r0 = 2
exit
