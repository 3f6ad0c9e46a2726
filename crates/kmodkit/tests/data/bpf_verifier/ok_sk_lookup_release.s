# type: sched_cls
# expect: accept
# A socket from bpf_sk_lookup_tcp is released on the path where it is not NULL.
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u64 *)(r10 - 8) = r2
r2 = r10
r2 += -16
r3 = 12
r4 = 0
r5 = 0
call 84
if r0 == 0 goto out
r1 = r0
call 86
out:
r0 = 0
exit
