# bpf_get_current_pid_tgid in XDP: every program type has it since 6.10.
# type: xdp
# 6.1: reject
# 6.18: accept
call 14
r0 = 2
exit
