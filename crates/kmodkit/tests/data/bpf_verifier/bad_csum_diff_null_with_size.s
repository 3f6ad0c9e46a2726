# type: xdp
# expect: reject
# class: helper
# NULL for `from` with a size of 4: only a size of 0 may go with NULL.
r1 = 0x0a000001
*(u32 *)(r10 - 4) = r1
r1 = 0
r2 = 4
r3 = r10
r3 += -4
r4 = 4
r5 = 0
call 28
r0 = 2
exit
