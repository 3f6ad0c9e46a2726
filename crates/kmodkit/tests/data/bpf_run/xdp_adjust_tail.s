# type: xdp
# bpf_xdp_adjust_tail: grow by 10 (the new bytes read as zero, one is set), shrink by 20,
# then refused moves: into the skb_shared_info room, and below an Ethernet header.
r6 = r1
r2 = 10
call 65
r7 = r0
r1 = r6
call 188
r5 = r0
r5 += -1
r0 = 1
if r5 > 4000 goto out
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r4 = r2
r4 += r5
r8 = r4
r8 += 1
if r8 > r3 goto out
r5 = *(u8 *)(r4 + 0)
r7 += r5
r5 = 0x77
*(u8 *)(r4 + 0) = r5
r1 = r6
r2 = -20
call 65
r7 *= 7
r7 += r0
r1 = r6
r2 = 4000
call 65
r7 *= 7
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r2 -= r3
r2 += 13
call 65
r7 *= 7
r7 += r0
r1 = r6
call 188
r7 *= 1000
r7 += r0
r0 = r7
out:
exit
