# type: socket_filter
# expect: reject
# class: uninit
# why: r3 in [0x70, 0x8f] crosses the s8 sign bit: (s8)r3 may be >= -5
call 7
r3 = r0
r3 &= 0x1f
r3 += 0x70
r7 = (s8)r3
if r7 s>= -5 goto dead
r0 = 0
exit
dead:
r0 -= r2
exit
