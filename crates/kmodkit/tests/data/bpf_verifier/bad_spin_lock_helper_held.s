# type: sched_cls
# map: 2 4 8 1 lock=4
# expect: reject
# class: helper
# why: no helper but bpf_spin_unlock may be called while the lock is held
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
call 5
r1 = r6
r1 += 4
call 94
out:
r0 = 0
exit
