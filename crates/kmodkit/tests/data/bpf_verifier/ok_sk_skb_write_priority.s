# type: sk_skb
# expect: accept
r2 = 1
*(u32 *)(r1 + 32) = r2
r0 = 1
exit
