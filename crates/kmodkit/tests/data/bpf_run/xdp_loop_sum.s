# type: xdp
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r0 = 0
r1 = 0
loop:
r4 = r2
r4 += r1
r5 = r4
r5 += 1
if r5 > r3 goto out
r5 = *(u8 *)(r4 + 0)
r0 += r5
r1 += 1
if r1 < 40 goto loop
out:
exit
