# type: sched_cls
# map: 2 4 8 1 lock=4
# expect: reject
# class: pointer
# why: an 8-byte load from the value's start overlaps its struct bpf_spin_lock (check_map_access)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
r0 = *(u64 *)(r6 + 0)
out:
r0 = 0
exit
