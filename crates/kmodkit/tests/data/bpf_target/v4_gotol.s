# The 32-bit-offset jump gotol (cpu v4, Linux 6.6): upstream kernels before 6.6 reject
# BPF_JMP32 | BPF_JA ("BPF_JA uses reserved fields"), but Debian's 6.1.192 has it (a stable
# backport), and it is the only cpu v4 instruction that kernel accepts. Here it jumps over
# the read of the uninitialised r5 (reachable in the CFG through the branch at insn 1).
# type: socket_filter
# 6.1: accept
# 6.18: accept
r0 = 0
if r0 == 1 goto +1
gotol +1
r0 = r5
exit
