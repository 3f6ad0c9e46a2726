# type: sched_cls
# expect: reject
# class: helper
# bpf_sk_release needs a socket known not to be NULL.
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
r1 = r0
call 86
r0 = 0
exit
