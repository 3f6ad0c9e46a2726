# type: socket_filter
# expect: accept
# class: uninit
# why: r0 in [-128, 127] and r0 <= 0xffffffffffffff00 (unsigned) leave only [0, 127]: r0 < 128 always holds
call 7
r0 = (s8)r0
r1 = 0xffffffffffffff00 ll
if r0 > r1 goto out
if r0 < 128 goto out
r0 -= r2
out:
r0 = 0
exit
