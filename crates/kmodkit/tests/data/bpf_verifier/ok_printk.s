# type: kprobe
# expect: accept
r1 = 680997
*(u32 *)(r10 - 4) = r1
r1 = r10
r1 += -4
r2 = 4
r3 = 7
r4 = 0
r5 = 0
call 6
r0 = 0
exit
