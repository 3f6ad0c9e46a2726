# type: sock_ops
# map: 15 4 4 1
# expect: accept
# class: helper
# why: sock_ops_func_proto offers bpf_sock_map_update(ctx, sockmap, key, flags)
r2 = 0
*(u32 *)(r10 - 4) = r2
r3 = r10
r3 += -4
r2 = map_idx(0, 0) ll
r4 = 0
call 53
r0 = 1
exit
