# type: xdp
# expect: accept
call 14
r0 = 2
exit
