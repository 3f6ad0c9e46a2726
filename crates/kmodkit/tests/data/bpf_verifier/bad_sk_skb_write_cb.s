# type: sk_skb
# expect: reject
# class: bounds
r2 = 1
*(u32 *)(r1 + 48) = r2
r0 = 1
exit
