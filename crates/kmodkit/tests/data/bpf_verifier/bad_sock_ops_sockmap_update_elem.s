# type: sock_ops
# map: 15 4 4 1
# expect: reject
# class: helper
# why: may_update_sockmap: sock_ops may delete from a sockmap but update only through bpf_sock_map_update
r2 = *(u64 *)(r1 + 184)
if r2 == 0 goto out
r3 = r2
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
r4 = 0
call 2
out:
r0 = 1
exit
