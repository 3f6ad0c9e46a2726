# type: sched_cls
# bpf_skb_adjust_room resets CHECKSUM_UNNECESSARY (bpf_csum_level query after), unless
# BPF_F_ADJ_ROOM_NO_CSUM_RESET, and not when it fails.
r6 = r1
r7 = 0
r1 = r6
r2 = 1
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = 8
r3 = 1
r4 = 0
call 50
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
r2 = 8
r3 = 1
r4 = 32
call 50
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r1 = r6
r2 = -8
r3 = 1
r4 = 0
call 50
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
r2 = 8192
r3 = 1
r4 = 0
call 50
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 135
r7 *= 31
r7 += r0
r0 = r7
exit
