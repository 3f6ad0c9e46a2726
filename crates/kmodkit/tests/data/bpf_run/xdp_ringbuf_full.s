# type: xdp
# map: 27 0 0 4096
# map: 2 4 1000 1
# 1000-byte records (1008 with the header) into a 4096-byte ring: four fit, the fifth gets
# -EAGAIN; bpf_ringbuf_query's available data, ring size and producer position; a
# reservation when full is NULL; unknown output flags are -EINVAL.
r7 = 0
loop:
r1 = map_idx(0, 0) ll
r2 = map_idx_value(1, 0) ll
r3 = 1000
r4 = 0
call 130
r7 += 1
if r0 != 0 goto out
if r7 < 8 goto loop
out:
r8 = r0
r1 = map_idx(0, 0) ll
r2 = 0
call 134
r6 = r0
r1 = map_idx(0, 0) ll
r2 = 1
call 134
r0 <<= 16
r6 += r0
r1 = map_idx(0, 0) ll
r2 = 3
call 134
r6 -= r0
r1 = map_idx(0, 0) ll
r2 = 8
r3 = 0
call 131
if r0 == 0 goto +4
r1 = r0
r2 = 0
call 133
r6 += 1
r1 = map_idx(0, 0) ll
r2 = r10
r2 += -8
r3 = 8
r4 = 4
call 130
r0 &= 0xff
r0 <<= 24
r6 += r0
r8 &= 0xff
r8 <<= 16
r7 <<= 12
r0 = r6
r0 ^= r7
r0 ^= r8
exit
