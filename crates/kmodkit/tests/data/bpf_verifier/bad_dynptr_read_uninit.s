# type: socket_filter
# expect: reject
# class: helper
# bpf_dynptr_read from stack slots that hold no dynptr.
r1 = 0
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 8) = r1
r1 = r10
r1 += -32
r2 = 8
r3 = r10
r3 += -16
r4 = 0
r5 = 0
call 201
r0 = 0
exit
