# type: socket_filter
# expect: accept
# bpf_strtoul's result: 8 aligned bytes of stack the helper writes (need not be initialised)
r7 = r10
r7 += -8
r0 = 0x00303036
*(u64 *)(r7 + 0) = r0
r1 = r7
r2 = 4
r3 = 0
r7 += -8
r4 = r7
call 106
r0 = 1
exit
