# type: socket_filter
# map: 2 4 8 1 lock=4
# expect: reject
# class: helper
# why: socket filters may not use a map with a bpf_spin_lock (check_map_prog_compatibility)
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
out:
r0 = 0
exit
