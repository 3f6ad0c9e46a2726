# type: socket_filter
# expect: reject
# class: bounds
# bpf_strtoul's result pointer must be aligned to 8 (MEM_ALIGNED)
r7 = r10
r7 += -8
r0 = 0x00303036
*(u64 *)(r7 + 0) = r0
r1 = r7
r2 = 4
r3 = 0
r7 += -12
r0 = 0
*(u32 *)(r7 + 0) = r0
*(u64 *)(r7 + 4) = r0
r4 = r7
call 106
r0 = 1
exit
