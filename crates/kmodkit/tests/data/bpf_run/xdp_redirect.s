# type: xdp
# bpf_redirect: XDP_REDIRECT without flags, XDP_ABORTED with any flag.
r1 = 1
r2 = 0
call 23
r6 = r0
r1 = 1
r2 = 1
call 23
r0 <<= 8
r0 += r6
r0 += 0x1000
exit
