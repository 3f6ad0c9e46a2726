# type: socket_filter
# map: 27 0 0 4096
# expect: reject
# class: pointer
# A reserved ring-buffer dynptr that is neither submitted nor discarded.
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
r4 = r10
r4 += -16
call 198
r0 = 0
exit
