# type: socket_filter
# expect: accept
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 112
r0 = 0
exit
