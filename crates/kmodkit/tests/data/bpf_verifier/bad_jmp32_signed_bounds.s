# type: xdp
# map: 2 4 16 1
# expect: reject
# class: bounds
# why: after w0 = w0, 0 <= (s32)w0 <= 9 leaves r0 up to 9, one byte too far for an 8-byte load
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
call 5
w0 = w0
if w0 s> 9 goto out
if w0 s< 0 goto out
r6 += r0
r0 = *(u64 *)(r6 + 0)
out:
r0 = 2
exit
