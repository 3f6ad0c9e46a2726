# type: sched_cls
# __sk_buff.tstamp after bpf_skb_set_tstamp in a program that never reads tstamp_type
# (the kernel's context rewrite then differs).
r6 = r1
r7 = 0
r1 = r6
r2 = 100
r3 = 1
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r1 = r6
r2 = 200
r3 = 2
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r1 = r6
r2 = 300
r3 = 0
call 192
r7 *= 31
r7 += r0
r0 = *(u64 *)(r6 + 152)
r7 *= 31
r7 += r0
r0 = r7
exit
