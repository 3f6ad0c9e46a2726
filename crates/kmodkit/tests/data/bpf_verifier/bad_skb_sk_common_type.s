# type: cgroup_skb
# expect: reject
# class: bounds
# A sock_common has no type field: bpf_sk_fullsock first.
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
r2 = *(u32 *)(r1 + 8)
out:
r0 = 1
exit
