# type: socket_filter
# expect: accept
# class: uninit
# why: w0 >= 4 on the fall-through, so w0 == 3 never holds although r0 is any 64-bit value
call 5
if w0 < 4 goto out
w2 = 3
if w0 == w2 goto dead
out:
r0 = 0
exit
dead:
r0 -= r1
exit
