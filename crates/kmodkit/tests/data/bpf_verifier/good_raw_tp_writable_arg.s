# type: raw_tracepoint_writable
# expect: accept
# class: bounds
# why: bpf_tracing_ctx_access: arguments after the buffer are read as u64
r2 = *(u64 *)(r1 + 8)
r0 = 0
exit
