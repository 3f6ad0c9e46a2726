# type: sched_cls
# bpf_get_hash_recalc (nonzero, seen by __sk_buff.hash, the same for the same flow),
# bpf_set_hash and bpf_set_hash_invalid.
r6 = r1
r7 = 0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
call 34
r8 = r0
r1 = 1
if r8 != 0 goto nz1
r1 = 0
nz1:
r0 = *(u32 *)(r6 + 68)
if r0 == r8 goto eq1
r1 += 2
eq1:
r0 = r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 4660
call 48
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
call 34
r7 *= 31
r7 += r0
r1 = r6
call 41
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 68)
r7 *= 31
r7 += r0
r1 = r6
call 34
r1 = 1
if r0 == r8 goto same
r1 = 0
same:
r0 = *(u32 *)(r6 + 68)
if r0 == r8 goto eq2
r1 += 2
eq2:
r0 = r1
r7 *= 31
r7 += r0
r1 = r6
r2 = 0
call 48
r7 *= 31
r7 += r0
r1 = r6
call 34
r7 *= 31
r7 += r0
r0 = r7
exit
