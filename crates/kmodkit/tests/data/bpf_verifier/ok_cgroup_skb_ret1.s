# type: cgroup_skb
# expect: accept
r0 = 1
exit
