# type: sched_cls
# expect: reject
# class: null
# Comparing the socket with a register holding 0 is not a NULL check.
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
r7 = 0
if r0 == r7 goto out
r1 = *(u32 *)(r0 + 4)
r1 = r0
call 86
out:
r0 = 0
exit
