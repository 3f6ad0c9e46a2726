# type: socket_filter
# bpf_skb_load_bytes_relative: the EtherType from the MAC header (in front of skb->data
# for a socket filter), the network header's first word, an unknown start (-EFAULT) and
# a read up to or past the tail of the frame.
r6 = r1
r1 = r6
r2 = 12
r3 = r10
r3 += -8
r4 = 2
r5 = 0
call 68
r7 = r0
r8 = *(u16 *)(r10 - 8)
r1 = r6
r2 = 0
r3 = r10
r3 += -16
r4 = 4
r5 = 1
call 68
r7 *= 7
r7 += r0
r9 = *(u32 *)(r10 - 16)
r1 = r6
r2 = 0
r3 = r10
r3 += -24
r4 = 4
r5 = 2
call 68
r7 *= 7
r7 += r0
r1 = r6
r2 = 60
r3 = r10
r3 += -24
r4 = 4
r5 = 0
call 68
r7 *= 7
r7 += r0
r1 = *(u32 *)(r10 - 24)
r9 ^= r1
r0 = r8
r0 ^= r9
r7 *= 65599
r0 += r7
exit
