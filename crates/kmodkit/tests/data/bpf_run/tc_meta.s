# type: sched_cls
# Helpers whose result is the environment's: no net_cls classid, no route realm, no
# CHECKSUM_COMPLETE (csum_update), no xfrm state (buffer cleared), the cgroup of the test
# process and its ancestors, a nonzero socket cookie stable within the run.
r6 = r1
r7 = 0
r1 = r6
call 17
r7 *= 31
r7 += r0
r1 = r6
call 24
r7 *= 31
r7 += r0
r1 = r6
call 151
r7 *= 31
r7 += r0
r1 = r6
r2 = 4660
call 40
r7 *= 31
r7 += r0
r1 = -1
*(u64 *)(r10 - 8) = r1
r1 = r6
r2 = 0
r3 = r10
r3 += -8
r4 = 8
r5 = 0
call 66
r7 *= 31
r7 += r0
r0 = *(u64 *)(r10 - 8)
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = r10
r3 += -8
r4 = 8
r5 = 1
call 66
r7 *= 31
r7 += r0
r1 = r6
call 79
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 83
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
call 83
r7 *= 31
r7 += r0
r1 = r6
r2 = 100
call 83
r7 *= 31
r7 += r0
r1 = r6
call 46
r8 = r0
r1 = r6
call 46
r1 = 1
if r0 == r8 goto same
r1 = 0
same:
if r0 != 0 goto nz
r1 = 0
nz:
r0 = r1
r7 *= 31
r7 += r0
r0 = r7
exit
