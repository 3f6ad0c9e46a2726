# A signed division (cpu v4, Linux 6.6).
# type: socket_filter
# 6.1: reject
# 6.18: accept
r0 = -7
r1 = 2
r0 s/= r1
r0 = 0
exit
