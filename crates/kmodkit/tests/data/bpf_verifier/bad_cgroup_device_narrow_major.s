# type: cgroup_device
# expect: reject
# class: bounds
r2 = *(u16 *)(r1 + 4)
r0 = 1
exit
