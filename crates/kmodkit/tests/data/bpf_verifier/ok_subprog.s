# type: socket_filter
# expect: accept
r1 = 5
call f
exit
f:
r0 = r1
r0 += 1
exit
