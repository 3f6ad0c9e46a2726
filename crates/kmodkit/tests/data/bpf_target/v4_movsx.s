# A sign-extending move (cpu v4, Linux 6.6).
# type: socket_filter
# 6.1: reject
# 6.18: accept
r1 = 255
r0 = (s8)r1
r0 = 0
exit
