# type: tracepoint
# expect: accept
r0 = *(u64 *)(r1 + 8)
r0 = *(u32 *)(r1 + 8188)
r0 = 0
exit
