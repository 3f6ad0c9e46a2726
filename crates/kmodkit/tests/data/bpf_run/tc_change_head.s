# type: sched_cls
# bpf_skb_change_head: 8 zero bytes in front (the network header stays, as
# load_bytes_relative shows and change_tail's minimum), a flag, too much room.
r6 = r1
r7 = 0
r1 = r6
r2 = 8
r3 = 0
call 43
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
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = r6
r2 = 0
r3 = r10
r3 += -8
r4 = 4
r5 = 1
call 68
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 8)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
r3 = 1
call 43
r7 *= 31
r7 += r0
r1 = r6
r2 = 2147483647
r3 = 0
call 43
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = 0
call 43
r7 *= 31
r7 += r0
r1 = r6
r2 = 20
r3 = 0
call 38
r7 *= 31
r7 += r0
r1 = r6
r2 = 21
r3 = 0
call 38
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = r10
r3 += -8
r4 = 4
r5 = 1
call 68
r7 *= 31
r7 += r0
r0 = *(u32 *)(r10 - 8)
r7 *= 31
r7 += r0
r0 = r7
exit
