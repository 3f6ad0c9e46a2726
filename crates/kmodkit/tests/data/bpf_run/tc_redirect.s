# type: sched_cls
# bpf_redirect, bpf_redirect_peer and bpf_redirect_neigh: TC_ACT_REDIRECT, or TC_ACT_SHOT
# for flags they do not know or a short neighbour; folded into r0.
r6 = r1
r7 = 0
r1 = 1
r2 = 0
call 23
r7 *= 31
r7 += r0
r1 = 1
r2 = 1
call 23
r7 *= 31
r7 += r0
r1 = 1
r2 = 2
call 23
r7 *= 31
r7 += r0
r1 = 99
r2 = 0
call 23
r7 *= 31
r7 += r0
r1 = 1
r2 = 0x10000
r2 <<= 16
call 23
r7 *= 31
r7 += r0
r1 = 1
r2 = 0
call 155
r7 *= 31
r7 += r0
r1 = 1
r2 = 1
call 155
r7 *= 31
r7 += r0
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 24) = r1
r1 = 1
r2 = 0
r3 = 0
r4 = 0
call 152
r7 *= 31
r7 += r0
r1 = 1
r2 = r10
r2 += -24
r3 = 20
r4 = 0
call 152
r7 *= 31
r7 += r0
r1 = 1
r2 = r10
r2 += -24
r3 = 8
r4 = 0
call 152
r7 *= 31
r7 += r0
r1 = 1
r2 = r10
r2 += -24
r3 = 24
r4 = 0
call 152
r7 *= 31
r7 += r0
r1 = 1
r2 = 0
r3 = 0
r4 = 1
call 152
r7 *= 31
r7 += r0
r0 = r7
exit
