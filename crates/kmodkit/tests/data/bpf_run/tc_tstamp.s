# type: sched_cls
# bpf_skb_set_tstamp for each clock (zero refused for mono and tai) and an unknown one; the
# __sk_buff tstamp and tstamp_type after each.
r6 = r1
r7 = 0
r1 = r6
r2 = 100
r3 = 0
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = 1
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 200
r3 = 1
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 300
r3 = 2
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = 2
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 5
r3 = 3
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = 0
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = *(u8 *)(r6 + 180)
r7 *= 31
r7 += r0
r0 = r7
exit
