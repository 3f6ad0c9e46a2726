# type: sched_cls
r0 = *(u32 *)(r1 + 0)
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r3 -= r2
r0 <<= 16
r0 |= r3
exit
