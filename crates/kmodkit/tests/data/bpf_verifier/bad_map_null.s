# type: xdp
# map: 1 4 8 16
# expect: reject
# class: null
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r1 = *(u64 *)(r0 + 0)
r0 = 2
exit
