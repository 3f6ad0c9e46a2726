# type: sched_cls
# bpf_skb_adjust_room at the MAC and network offsets, growing and shrinking, with
# BPF_F_ADJ_ROOM_NO_CSUM_RESET, and refusals: too big a change, a bad mode or flag, shrinking
# below the base header, decap flags on growth or both at once. len and protocol after each.
r6 = r1
r7 = 0
r1 = r6
r2 = 8
r3 = 1
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 8
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -8
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -4
r3 = 1
r4 = 32
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4096
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
r3 = 2
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
r3 = 0
r4 = 1024
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -100
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -24
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -27
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -26
r3 = 0
r4 = 0
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 8
r3 = 0
r4 = 128
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = -4
r3 = 0
r4 = 384
call 50
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = r7
exit
