# type: sched_cls
# bpf_skb_change_tail: grow (zeros), shrink, below the network header, a flag, too long;
# len and data_end - data after each. The frame is compared.
r6 = r1
r7 = 0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += 8
r3 = 0
call 38
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += -20
r3 = 0
call 38
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 13
r3 = 0
call 38
r7 *= 31
r7 += r0
r1 = r6
r2 = 14
r3 = 1
call 38
r7 *= 31
r7 += r0
r1 = r6
r2 = 100000
r3 = 0
call 38
r7 *= 31
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += 3
r3 = 0
call 38
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r0 = r7
exit
