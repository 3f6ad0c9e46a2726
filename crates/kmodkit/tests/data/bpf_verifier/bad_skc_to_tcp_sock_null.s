# type: sched_cls
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: null
# the cast's result may be NULL
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 != 0 goto found
exit
found:
r6 = r0
r1 = r0
call 137
r7 = *(u32 *)(r0 + 0)
r1 = r6
call 86
r0 = 0
exit
