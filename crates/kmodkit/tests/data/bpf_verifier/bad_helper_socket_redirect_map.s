# type: socket_filter
# map: 2 4 4 1
# expect: reject
# class: helper
r1 = map_idx(0, 0) ll
r2 = 0
r3 = 0
call 51
r0 = 0
exit
