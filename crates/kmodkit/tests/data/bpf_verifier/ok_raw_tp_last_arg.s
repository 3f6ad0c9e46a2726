# type: raw_tracepoint
# expect: accept
r0 = *(u64 *)(r1 + 88)
r0 = 0
exit
