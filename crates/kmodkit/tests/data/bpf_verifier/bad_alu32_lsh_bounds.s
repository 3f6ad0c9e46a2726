# type: socket_filter
# map: 1 8 48 1
# expect: reject
# class: bounds
# why: r1 <= 11, so w1 << 2 may be 44: an 8-byte store there passes the 48 bytes
r1 = 0
*(u64 *)(r10 - 8) = r1
r2 = r10
r2 += -8
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r1 = *(u32 *)(r0 + 0)
if r1 > 11 goto out
w1 <<= 2
r0 += r1
r1 = 0
*(u64 *)(r0 + 0) = r1
out:
r0 = 0
exit
