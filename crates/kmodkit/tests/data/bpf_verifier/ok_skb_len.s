# type: socket_filter
# expect: accept
r0 = *(u32 *)(r1 + 0)
exit
