# type: xdp
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 16
r0 = 0
if r4 > r3 goto out
r0 = *(u64 *)(r2 + 0)
r5 = *(u64 *)(r2 + 8)
r0 *= 0x9e3779b1
r0 ^= r5
r6 = r0
r6 s>>= 7
r0 += r6
w6 = w0
w6 /= 13
r0 -= r6
r7 = r0
r7 %= 1000003
r0 = be32 r0
r0 ^= r7
w0 = w0
out:
exit
