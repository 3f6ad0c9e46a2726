# type: socket_filter
# expect: reject
# class: uninit
# why: r0 in [-128, 127] and r0 <= 0xffffffffffffff80 (unsigned) still allow -128
call 7
r0 = (s8)r0
r1 = 0xffffffffffffff80 ll
if r0 > r1 goto out
if r0 < 128 goto out
r0 -= r2
out:
r0 = 0
exit
