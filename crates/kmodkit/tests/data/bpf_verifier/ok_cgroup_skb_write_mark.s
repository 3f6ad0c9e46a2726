# type: cgroup_skb
# expect: accept
# cgroup_skb programs may write mark, priority and tstamp.
r2 = 7
*(u32 *)(r1 + 8) = r2
*(u32 *)(r1 + 32) = r2
*(u64 *)(r1 + 152) = r2
r0 = 1
exit
