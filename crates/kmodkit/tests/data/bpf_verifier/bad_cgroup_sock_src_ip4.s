# type: cgroup_sock
# expect: reject
# class: bounds
r2 = *(u32 *)(r1 + 24)
r0 = 1
exit
