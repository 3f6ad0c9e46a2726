# type: sched_cls
# bpf_skb_pull_data of nothing, part, all and more than the packet.
r6 = r1
r7 = 0
r1 = r6
r2 = 0
call 39
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 10
call 39
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
call 39
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += 1
call 39
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 4294967295
call 39
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r0 = r7
exit
