# type: sk_msg
# expect: accept
r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r0 = *(u32 *)(r1 + 68)
r4 = r2
r4 += 4
if r4 > r3 goto out
r5 = 1
*(u32 *)(r2 + 0) = r5
out:
r0 = 1
exit
