# type: socket_filter
# expect: reject
# class: helper
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 4
r0 = 0
exit
