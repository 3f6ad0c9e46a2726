# type: xdp
# bpf_xdp_adjust_head: grow the front by 20 bytes (the new bytes are the zeroed headroom)
# and write a marker there, shrink by 34 and grow back by 14 (the dropped bytes are
# still in the buffer), then refused moves: into the xdp_frame room, and leaving less than
# an Ethernet header. Returns the results folded together with the final length.
r6 = r1
r2 = -20
call 44
r7 = r0
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r4 = r2
r4 += 24
r0 = 1
if r4 > r3 goto out
r1 = 0x5a5a5a5a
*(u32 *)(r2 + 0) = r1
r1 = r6
r2 = 34
call 44
r7 *= 7
r7 += r0
r1 = r6
r2 = -14
call 44
r7 *= 7
r7 += r0
r1 = r6
r2 = -300
call 44
r7 *= 7
r7 += r0
r1 = r6
r2 = *(u32 *)(r6 + 4)
r3 = *(u32 *)(r6 + 0)
r2 -= r3
r2 += -13
call 44
r7 *= 7
r7 += r0
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r3 -= r2
r7 *= 1000
r0 = r7
r0 += r3
out:
exit
