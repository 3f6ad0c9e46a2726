# type: sock_ops
# expect: reject
# class: bounds
# why: skb_hwtstamp is read as a u64 only
r2 = *(u32 *)(r1 + 216)
r0 = 1
exit
