# type: kprobe
# map: 15 4 4 1
# expect: reject
# class: helper
# Socket maps are changed only from the program types of may_update_sockmap.
r2 = 0
*(u32 *)(r10 - 4) = r2
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 3
r0 = 0
exit
