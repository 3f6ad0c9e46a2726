# type: sched_cls
# expect: accept
r2 = 1
*(u32 *)(r1 + 72) = r2
*(u32 *)(r1 + 8) = r2
*(u32 *)(r1 + 48) = r2
r0 = 0
exit
