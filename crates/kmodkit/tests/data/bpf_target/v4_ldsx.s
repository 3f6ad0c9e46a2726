# A sign-extending load (cpu v4, Linux 6.6).
# type: socket_filter
# 6.1: reject
# 6.18: accept
r2 = -1
*(u64 *)(r10 - 8) = r2
r0 = *(s32 *)(r10 - 8)
r0 = 0
exit
