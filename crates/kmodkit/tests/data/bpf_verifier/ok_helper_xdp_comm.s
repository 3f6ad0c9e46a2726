# type: xdp
# expect: accept
r1 = r10
r1 += -16
r2 = 16
call 16
r0 = 2
exit
