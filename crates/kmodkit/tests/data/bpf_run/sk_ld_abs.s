# type: socket_filter
r6 = r1
r0 = *(u8 *)skb[0]
r7 = r0
r0 = *(u16 *)skb[2]
r7 <<= 16
r0 |= r7
r1 = 9
r0 = *(u32 *)skb[r1 + 3]
r0 ^= r7
exit
