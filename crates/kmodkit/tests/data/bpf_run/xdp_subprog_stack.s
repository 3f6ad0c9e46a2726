# type: xdp
r1 = 10
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -8
call f
r1 = *(u64 *)(r10 - 8)
r0 += r1
exit
f:
r2 = *(u64 *)(r1 + 0)
r2 *= 3
*(u64 *)(r1 + 0) = r2
r0 = 5
exit
