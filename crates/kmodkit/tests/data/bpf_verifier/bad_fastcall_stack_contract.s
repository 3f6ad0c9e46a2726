# type: sched_cls
# expect: reject
# class: bounds
# why: another access to the spill's slot keeps the spills (check_fastcall_stack_contract): 512 + 8
r1 = 42
*(u64 *)(r10 - 512) = r1
call sub
r0 = 0
exit
sub:
*(u64 *)(r10 - 8) = r1
call 8
r1 = *(u64 *)(r10 - 8)
r2 = *(u64 *)(r10 - 8)
r0 = 0
exit
