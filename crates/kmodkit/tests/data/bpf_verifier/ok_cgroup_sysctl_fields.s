# type: cgroup_sysctl
# expect: accept
r2 = *(u8 *)(r1 + 0)
r3 = *(u16 *)(r1 + 4)
r4 = 0
*(u32 *)(r1 + 4) = r4
r0 = 1
exit
