# type: xdp
# expect: reject
# class: bounds
r0 = *(u64 *)(r10 + 0)
exit
