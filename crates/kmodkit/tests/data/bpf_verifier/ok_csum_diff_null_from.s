# type: xdp
# expect: accept
# bpf_csum_diff takes NULL for `from` when its size is 0 (ARG_PTR_TO_MEM | PTR_MAYBE_NULL).
r1 = 0x0a000001
*(u32 *)(r10 - 4) = r1
r1 = 0
r2 = 0
r3 = r10
r3 += -4
r4 = 4
r5 = 0
call 28
r0 = 2
exit
