# type: socket_filter
# expect: accept
r0 = *(u8 *)(r1 + 16)
r2 = *(u16 *)(r1 + 8)
r0 += r2
exit
