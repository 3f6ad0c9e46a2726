# type: cgroup_skb
# expect: reject
# class: return
r0 = 5
exit
