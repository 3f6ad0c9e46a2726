# type: sched_cls
# expect: reject
# class: bounds
# why: each function's depth is rounded up to 16 bytes in the combined check (JIT,
# round_up_stack_depth): 504 + 8 is 512 + 16
r1 = 42
*(u64 *)(r10 - 504) = r1
call sub
r0 = 0
exit
sub:
*(u64 *)(r10 - 8) = r1
r0 = 0
exit
