# type: sched_cls
# bpf_clone_redirect in a fresh network namespace: to lo (down) on egress and ingress,
# to a missing device, and with an unknown flag.
r6 = r1
r7 = 0
r1 = r6
r2 = 1
r3 = 0
call 13
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
r3 = 1
call 13
r7 *= 31
r7 += r0
r1 = r6
r2 = 99
r3 = 0
call 13
r7 *= 31
r7 += r0
r1 = r6
r2 = 1
r3 = 2
call 13
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
r3 = 1
call 13
r7 *= 31
r7 += r0
r0 = r7
exit
