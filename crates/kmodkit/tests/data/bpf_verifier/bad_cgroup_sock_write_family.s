# type: cgroup_sock
# expect: reject
# class: bounds
r2 = 2
*(u32 *)(r1 + 4) = r2
r0 = 1
exit
