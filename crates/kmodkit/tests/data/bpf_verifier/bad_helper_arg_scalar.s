# type: xdp
# map: 1 4 8 16
# expect: reject
# class: helper
r1 = map_idx(0, 0) ll
r2 = 0
call 1
r0 = 2
exit
