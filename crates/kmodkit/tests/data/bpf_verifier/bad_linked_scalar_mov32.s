# type: xdp
# map: 2 4 16 1
# expect: reject
# class: bounds
# why: w8 = w7 copies only the low half of a 64-bit value: a bound on r8 says nothing about r7
call 5
r7 = r0
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map_idx(0, 0) ll
call 1
if r0 == 0 goto out
r6 = r0
w8 = w7
if r8 > 8 goto out
r6 += r7
r0 = *(u64 *)(r6 + 0)
out:
r0 = 2
exit
