# type: sched_cls
# map: 2 4 24 1 timer=8
# expect: accept
# the bytes around the value's struct bpf_timer stay accessible
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = 0
*(u64 *)(r0 + 0) = r1
r0 = *(u64 *)(r0 + 0)
out:
r0 = 0
exit
