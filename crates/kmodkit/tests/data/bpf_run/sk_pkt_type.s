# type: socket_filter
r0 = *(u32 *)(r1 + 4)
exit
