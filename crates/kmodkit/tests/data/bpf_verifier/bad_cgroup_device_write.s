# type: cgroup_device
# expect: reject
# class: bounds
r2 = 0
*(u32 *)(r1 + 0) = r2
r0 = 1
exit
