# type: cgroup_skb
# expect: reject
# class: bounds
# The two bytes after dst_port are padding.
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
r2 = *(u16 *)(r1 + 50)
out:
r0 = 1
exit
