# type: xdp
# map: 2 4 16 1
# expect: accept
# class: bounds
# why: w0 = w0 clears the upper half; 0 <= (s32)w0 <= 7 bound r0 to [0, 7] (32-bit signed to unsigned to 64-bit)
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
if w0 s> 7 goto out
if w0 s< 0 goto out
r6 += r0
r0 = *(u64 *)(r6 + 0)
out:
r0 = 2
exit
