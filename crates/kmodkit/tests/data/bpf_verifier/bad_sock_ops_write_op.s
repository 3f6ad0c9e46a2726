# type: sock_ops
# expect: reject
# class: bounds
# why: sock_ops_is_valid_access: only reply and sk_txhash are writable
r2 = 0
*(u32 *)(r1 + 0) = r2
r0 = 1
exit
