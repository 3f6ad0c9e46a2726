# type: cgroup_skb
# map: 19 16 64 0
# expect: reject
# class: helper
# bpf_get_local_storage cannot fail: its flags must be 0
r1 = map_idx(0, 0) ll
r2 = 1
call 81
r1 = *(u32 *)(r0 + 0)
r0 = 1
exit
