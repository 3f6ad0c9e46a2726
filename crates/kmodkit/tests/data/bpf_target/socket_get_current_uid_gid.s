# bpf_get_current_uid_gid in a socket filter: 6.18 offers it to every type, 6.1 does not.
# type: socket_filter
# 6.1: reject
# 6.18: accept
call 15
r0 = 0
exit
