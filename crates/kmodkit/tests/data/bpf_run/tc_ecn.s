# type: sched_cls
# bpf_skb_ecn_set_ce on the packets as they are, then with ECT(0) and ECT(1) in the IPv4
# TOS byte (or the IPv6 traffic class), and on a packet already marked.
r6 = r1
r7 = 0
r1 = r6
call 97
r7 *= 31
r7 += r0
r1 = 0x02
*(u8 *)(r10 - 8) = r1
r1 = r6
r2 = 15
r3 = r10
r3 += -8
r4 = 1
r5 = 0
call 9
r7 *= 31
r7 += r0
r1 = r6
call 97
r7 *= 31
r7 += r0
r1 = r6
call 97
r7 *= 31
r7 += r0
r1 = 0x01
*(u8 *)(r10 - 8) = r1
r1 = r6
r2 = 15
r3 = r10
r3 += -8
r4 = 1
r5 = 0
call 9
r7 *= 31
r7 += r0
r1 = r6
call 97
r7 *= 31
r7 += r0
r0 = r7
exit
