# type: sock_ops
# expect: reject
# class: bounds
# why: the other fields are read as whole u32s
r2 = *(u16 *)(r1 + 0)
r0 = 1
exit
