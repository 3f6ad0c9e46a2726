# type: sched_cls
# map: 2 4 8 1 lock=4
# expect: accept
# bpf_spin_lock/bpf_spin_unlock on the value's struct bpf_spin_lock (process_spin_lock);
# the value's other bytes stay accessible
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
r1 = r6
r1 += 4
call 93
r7 = *(u32 *)(r6 + 0)
r1 = r6
r1 += 4
call 94
out:
r0 = 0
exit
