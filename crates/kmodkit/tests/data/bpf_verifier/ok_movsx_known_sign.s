# type: socket_filter
# expect: accept
# class: uninit
# why: r3 in [0x80, 0x8f] has its bit 7 set: (s8)r3 is in [-128, -113], never >= -5
call 7
r3 = r0
r3 &= 0xf
r3 |= 0x80
r7 = (s8)r3
if r7 s>= -5 goto dead
r0 = 0
exit
dead:
r0 -= r2
exit
