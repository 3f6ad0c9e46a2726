# type: tracepoint
# map: 27 0 0 4096
# expect: reject
# class: pointer
# A reserved record neither submitted nor discarded (check_reference_leak).
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
call 131
if r0 == 0 goto out
r1 = 42
*(u64 *)(r0 + 0) = r1
out:
r0 = 0
exit
