# type: socket_filter
r6 = r1
r0 = *(u32 *)skb[4000]
r0 = 7
exit
