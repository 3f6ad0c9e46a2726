# type: cgroup_device
# expect: reject
# class: return
r0 = 2
exit
