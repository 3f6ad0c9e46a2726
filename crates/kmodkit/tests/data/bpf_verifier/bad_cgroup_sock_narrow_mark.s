# type: cgroup_sock
# expect: reject
# class: bounds
r2 = *(u16 *)(r1 + 16)
r0 = 1
exit
