# type: xdp
# map: 2 4 64 1
# expect: reject
# class: bounds
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
call 7
r0 &= 127
r6 += r0
r0 = *(u8 *)(r6 + 0)
out:
r0 = 2
exit
