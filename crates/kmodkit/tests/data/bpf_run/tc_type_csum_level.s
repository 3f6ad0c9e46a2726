# type: sched_cls
# bpf_skb_change_type (pkt_type after each) and bpf_csum_level through
# queries, increments past the maximum, decrements past zero, reset and a bad level.
r6 = r1
r7 = 0
r1 = r6
r2 = 3
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 4294967295
call 32
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 4)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 2
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 3
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
call 135
r7 *= 31
r7 += r0
r0 = r7
exit
