# type: sched_cls
# expect: reject
# class: pointer
# The socket from bpf_sk_lookup_tcp is never released: "Unreleased reference".
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
r0 = 0
exit
