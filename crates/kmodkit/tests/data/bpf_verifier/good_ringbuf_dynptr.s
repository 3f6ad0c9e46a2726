# type: socket_filter
# map: 27 0 0 4096
# expect: accept
# class: helper
# A ring-buffer dynptr: reserved (a reference, even if the reservation fails), written,
# then submitted.
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
r4 = r10
r4 += -16
call 198
r1 = 7
*(u64 *)(r10 - 24) = r1
r1 = r10
r1 += -16
r2 = 0
r3 = r10
r3 += -24
r4 = 8
r5 = 0
call 202
r1 = r10
r1 += -16
r2 = 0
call 199
r0 = 0
exit
