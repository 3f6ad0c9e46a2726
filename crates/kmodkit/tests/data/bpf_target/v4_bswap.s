# An unconditional byte swap (cpu v4, Linux 6.6).
# type: socket_filter
# 6.1: reject
# 6.18: accept
r0 = 7
r0 = bswap16 r0
r0 = 0
exit
