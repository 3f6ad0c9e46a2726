# bpf_send_signal in tc: a tracing helper that 6.18 offers every type.
# type: sched_cls
# 6.1: reject
# 6.18: accept
r1 = 0
call 109
r0 = 0
exit
