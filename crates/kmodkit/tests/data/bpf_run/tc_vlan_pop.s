# type: sched_cls
# bpf_skb_vlan_pop without a tag (nothing), then a push and pops that take a tag out of
# the frame; the fields after each.
r6 = r1
r7 = 0
r1 = r6
call 19
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 20)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 24)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 28)
r7 *= 31
r7 += r0
r1 = r6
call 19
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 20)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 24)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 28)
r7 *= 31
r7 += r0
r1 = r6
call 19
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 20)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 24)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 28)
r7 *= 31
r7 += r0
r1 = r6
r2 = 129
r3 = 3
call 18
r7 *= 31
r7 += r0
r1 = r6
call 19
r7 *= 31
r7 += r0
r1 = r6
call 19
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 0)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 16)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 20)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 24)
r7 *= 31
r7 += r0
r0 = *(u32 *)(r6 + 28)
r7 *= 31
r7 += r0
r0 = r7
exit
