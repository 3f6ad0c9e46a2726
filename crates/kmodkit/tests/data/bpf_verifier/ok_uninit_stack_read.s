# type: xdp
# expect: accept
# why: a privileged loader may read uninitialised stack (kernel >= 6.5)
r0 = *(u64 *)(r10 - 8)
r0 &= 1
exit
