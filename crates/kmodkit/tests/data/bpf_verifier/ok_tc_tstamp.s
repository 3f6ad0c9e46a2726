# type: sched_cls
# expect: accept
r0 = *(u64 *)(r1 + 152)
r2 = 0
*(u64 *)(r1 + 152) = r2
r0 = 0
exit
