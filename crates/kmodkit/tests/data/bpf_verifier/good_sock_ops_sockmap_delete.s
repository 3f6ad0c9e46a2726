# type: sock_ops
# map: 15 4 4 1
# expect: accept
# class: helper
# why: may_update_sockmap: sock_ops may delete from a sockmap
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 3
r0 = 1
exit
