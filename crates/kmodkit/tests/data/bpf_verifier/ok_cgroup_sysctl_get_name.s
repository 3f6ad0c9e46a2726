# type: cgroup_sysctl
# expect: accept
r6 = r1
r2 = 0
*(u64 *)(r10 - 8) = r2
*(u64 *)(r10 - 16) = r2
r2 = r10
r2 += -16
r3 = 16
r4 = 0
call 101
r0 = 1
exit
