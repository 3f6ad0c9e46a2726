# type: sched_cls
# bpf_skb_vlan_push three times (the first tag stays in the skb, later ones move the
# present tag into the frame; an unknown protocol is 802.1Q), then bpf_skb_vlan_pop; len,
# protocol and the vlan fields after each. The frame after the run is compared.
r6 = r1
r7 = 0
r1 = r6
r2 = 129
r3 = 5
call 18
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
r2 = 43144
r3 = 7
call 18
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
r2 = 4660
r3 = 9
call 18
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
r0 = r7
exit
