# type: socket_filter
# map: 2 4 8 4
# expect: reject
# class: null
# constant-key array lookup used without a NULL check (since 6.13 when the key is known)
r1 = 2
*(u32 *)(r10 - 8) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
