# type: sched_act
# A tc action (sched_act) program: vlan push, change_head, change_tail, redirect and
# clone_redirect, with the fields after; the frame is compared.
r6 = r1
r7 = 0
r1 = r6
r2 = 129
r3 = 291
call 18
r7 *= 31
r7 += r0
r1 = r6
r2 = 4
r3 = 0
call 43
r7 *= 31
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += -6
r3 = 0
call 38
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 20)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 24)
r7 *= 31
r7 += r0
r1 = 1
r2 = 0
call 23
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
r3 = 0
call 13
r7 *= 31
r7 += r0
r0 = r7
exit
