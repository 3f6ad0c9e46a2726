# type: xdp
# map: 1 8 8 16
# expect: reject
# class: bounds
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
r0 = 2
exit
