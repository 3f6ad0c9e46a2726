# type: sched_cls
# expect: reject
# class: bounds
# why: the fill is to another register: no pattern, the function's 8 bytes count (512 + 8)
r1 = 42
*(u64 *)(r10 - 512) = r1
call sub
r0 = 0
exit
sub:
*(u64 *)(r10 - 8) = r1
call 8
r2 = *(u64 *)(r10 - 8)
r0 = 0
exit
