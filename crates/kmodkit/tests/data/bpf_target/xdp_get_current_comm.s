# bpf_get_current_comm in XDP: 6.18 offers it to every program type, 6.1 to tracing ones.
# type: xdp
# 6.1: reject
# 6.18: accept
r1 = r10
r1 += -16
r2 = 16
call 16
r0 = 2
exit
