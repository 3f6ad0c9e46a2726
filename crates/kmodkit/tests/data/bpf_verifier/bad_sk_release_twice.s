# type: sched_cls
# expect: reject
# class: helper
# After bpf_sk_release the pointer (and its copies) is no longer a socket.
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
r6 = r0
r1 = r0
call 86
r1 = r6
call 86
out:
r0 = 0
exit
