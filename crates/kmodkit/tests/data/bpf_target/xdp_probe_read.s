# bpf_probe_read (the old, tracing-only one) in XDP: no kernel offers it.
# type: xdp
# 6.1: reject
# 6.18: reject
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 4
r0 = 2
exit
