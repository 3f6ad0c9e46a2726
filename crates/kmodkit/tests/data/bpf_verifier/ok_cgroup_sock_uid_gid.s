# type: cgroup_sock
# expect: accept
call 15
r0 = 1
exit
