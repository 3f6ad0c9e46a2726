# type: socket
# bpf_get_socket_cookie of a socket filter's test run: nonzero and stable.
r6 = r1
r7 = 0
r1 = r6
call 46
r8 = r0
r1 = r6
call 46
r7 = 1
if r0 != r8 goto bad
if r0 == 0 goto bad
r7 = 3
bad:
r0 = r7
exit
