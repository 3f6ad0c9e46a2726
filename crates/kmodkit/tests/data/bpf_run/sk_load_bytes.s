# type: socket_filter
# bpf_skb_load_bytes from skb->data (the network header, for a socket filter): a read
# inside the packet, then one crossing its end (-EFAULT and the buffer zeroed).
r6 = r1
r1 = 0x11223344
*(u64 *)(r10 - 16) = r1
r1 = r6
r2 = 2
r3 = r10
r3 += -8
r4 = 4
call 26
r7 = r0
r8 = *(u32 *)(r10 - 8)
r1 = r6
r2 = *(u32 *)(r6 + 0)
r2 += -2
r3 = r10
r3 += -16
r4 = 4
call 26
r7 *= 7
r7 += r0
r9 = *(u32 *)(r10 - 16)
r0 = r8
r0 ^= r9
r7 *= 65599
r0 += r7
exit
