# type: cgroup_skb
# map: 19 16 64 0
# expect: accept
# bpf_get_local_storage returns a value of the cgroup storage map, never NULL
r1 = map_idx(0, 0) ll
r2 = 0
call 81
r1 = *(u32 *)(r0 + 60)
r0 = 1
exit
