# type: cgroup_skb
# bpf_get_socket_cookie of a cgroup skb test run: nonzero.
r6 = r1
r1 = r6
call 46
r1 = 1
if r0 != 0 goto t_
r1 = 0
t_:
r0 = r1
exit
