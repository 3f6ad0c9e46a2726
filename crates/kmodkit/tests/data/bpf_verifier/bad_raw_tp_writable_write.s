# type: raw_tracepoint_writable
# expect: reject
# class: bounds
# why: the arguments of a writable raw tracepoint are read-only (only the buffer is written)
r2 = 0
*(u64 *)(r1 + 8) = r2
r0 = 0
exit
