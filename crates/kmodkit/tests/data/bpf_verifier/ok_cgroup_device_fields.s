# type: cgroup_device
# expect: accept
r2 = *(u32 *)(r1 + 4)
r3 = *(u32 *)(r1 + 8)
r4 = *(u16 *)(r1 + 0)
r5 = *(u8 *)(r1 + 1)
r0 = 1
exit
