# type: socket_filter
# map: 2 4 16 1
# expect: reject
# class: helper
# A local dynptr (bpf_dynptr_from_mem over a map value) is not a ring-buffer one.
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = r0
r2 = 16
r3 = 0
r4 = r10
r4 += -24
call 197
r1 = r10
r1 += -24
r2 = 0
call 199
out:
r0 = 0
exit
