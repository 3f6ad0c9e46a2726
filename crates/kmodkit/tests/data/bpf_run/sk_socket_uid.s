# type: socket_filter
# bpf_get_socket_uid: the test run's socket belongs to the caller (root).
call 47
r0 += 7
exit
