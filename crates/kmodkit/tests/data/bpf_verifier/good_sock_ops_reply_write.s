# type: sock_ops
# expect: accept
# class: pointer
# why: sock_ops_is_valid_access: reply and sk_txhash may be written as u32
r2 = 0
*(u32 *)(r1 + 4) = r2
*(u32 *)(r1 + 164) = r2
r0 = 1
exit
