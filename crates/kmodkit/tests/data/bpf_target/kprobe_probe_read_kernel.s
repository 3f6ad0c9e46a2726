# bpf_probe_read_kernel in a kprobe program: both kernels (5.5).
# type: kprobe
# 6.1: accept
# 6.18: accept
r1 = r10
r1 += -8
r2 = 8
r3 = 0
call 113
r0 = 0
exit
