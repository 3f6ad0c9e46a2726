# type: sk_reuseport
# expect: reject
# class: bounds
# why: eth_protocol is read with at least the 2 bytes of skb->protocol
r2 = *(u8 *)(r1 + 20)
r0 = 0
exit
