# type: cgroup_device
# expect: reject
# class: bounds
r2 = *(u32 *)(r1 + 12)
r0 = 1
exit
