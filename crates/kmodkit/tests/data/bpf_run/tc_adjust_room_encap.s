# type: sched_cls
# bpf_skb_adjust_room with the encapsulation flags: UDP over IPv4, twice, bad
# combinations, an inner Ethernet header, decap to IPv6; then change_tail of an
# encapsulated skb.
r6 = r1
r7 = 0
r1 = r6
r2 = 20
r3 = 1
r4 = 18
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
r2 = 20
r3 = 1
r4 = 18
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
r3 = 1
r4 = 6
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
r3 = 1
r4 = 26
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
r2 = 28
r3 = 1
r4 = 234881024
r4 <<= 32
r4 |= 84
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
r3 = 1
r4 = 134217728
r4 <<= 32
r4 |= 2
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
r2 = -20
r3 = 1
r4 = 256
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
r2 = *(u32 *)(r6 + 0)
r3 = 0
call 38
r7 *= 31
r7 += r0
r0 = r7
exit
