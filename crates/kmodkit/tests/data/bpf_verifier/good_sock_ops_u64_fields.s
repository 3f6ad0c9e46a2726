# type: sock_ops
# expect: accept
# class: bounds
# why: bytes_received and bytes_acked are u64, skb_tcp_flags may be read narrowly at its start
r2 = *(u64 *)(r1 + 168)
r3 = *(u64 *)(r1 + 176)
r4 = *(u8 *)(r1 + 212)
r5 = *(u32 *)(r1 + 208)
r0 = 1
exit
