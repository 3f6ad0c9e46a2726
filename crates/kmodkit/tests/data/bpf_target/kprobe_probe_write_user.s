# bpf_probe_write_user in a kprobe program: 6.1 offers it; the 6.18 host does not (as
# `kmodkit bpf probe-helpers` finds for every type there).
# type: kprobe
# 6.1: accept
# 6.18: reject
r2 = 0
*(u64 *)(r10 - 8) = r2
r1 = 0
r2 = r10
r2 += -8
r3 = 8
call 36
r0 = 0
exit
