# type: sched_cls
# bpf_skb_change_proto IPv4 -> IPv6 -> IPv4 (20 zero bytes after the MAC header, then
# removed; the hash cleared), with a flag, and to ARP.
r6 = r1
r7 = 0
r1 = r6
r2 = 85
call 48
r7 *= 31
r7 += r0
r1 = r6
r2 = 56710
r3 = 0
call 31
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 80)
r1 = *(u32 *)(r6 + 76)
r0 -= r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 56710
r3 = 1
call 31
r7 *= 31
r7 += r0
r1 = r6
r2 = 8
r3 = 0
call 31
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r1 = r6
r2 = 1544
r3 = 0
call 31
r7 *= 31
r7 += r0
r0 = r7
exit
