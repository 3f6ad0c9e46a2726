# type: socket_filter
# map: 27 0 0 4096
# expect: reject
# class: pointer
# The dynptr's stack slots cannot be read as data.
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
r4 = r10
r4 += -16
call 198
r6 = *(u64 *)(r10 - 16)
r1 = r10
r1 += -16
r2 = 0
call 200
r0 = r6
exit
