# type: cgroup_sock
# expect: reject
# class: return
r0 = 3
exit
