# type: cgroup_skb
# expect: reject
# class: null
# skb->sk may be NULL.
r1 = *(u64 *)(r1 + 168)
r0 = *(u32 *)(r1 + 4)
r0 = 1
exit
