# type: cgroup_sock
# expect: reject
# class: bounds
r2 = *(u8 *)(r1 + 73)
r0 = 1
exit
