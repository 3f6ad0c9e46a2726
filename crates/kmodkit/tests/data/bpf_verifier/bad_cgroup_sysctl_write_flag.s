# type: cgroup_sysctl
# expect: reject
# class: bounds
r4 = 0
*(u32 *)(r1 + 0) = r4
r0 = 1
exit
