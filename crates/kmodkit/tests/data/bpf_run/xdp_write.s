# type: xdp
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 6
r0 = 1
if r4 > r3 goto out
r5 = *(u32 *)(r2 + 0)
r6 = *(u16 *)(r2 + 4)
*(u32 *)(r2 + 0) = r6
*(u16 *)(r2 + 4) = r5
r0 = 3
out:
exit
