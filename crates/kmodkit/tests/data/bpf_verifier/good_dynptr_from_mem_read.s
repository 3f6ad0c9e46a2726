# type: socket_filter
# map: 2 4 16 1
# expect: accept
# class: helper
# A local dynptr over a map value, read into the stack.
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
r1 += -32
r2 = 8
r3 = r10
r3 += -24
r4 = 0
r5 = 0
call 201
r0 = *(u64 *)(r10 - 32)
exit
out:
r0 = 0
exit
