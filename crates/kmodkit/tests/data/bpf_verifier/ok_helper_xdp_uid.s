# type: xdp
# expect: accept
call 15
r0 = 2
exit
