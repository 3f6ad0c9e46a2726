# type: netfilter
# section: netfilter
# expect: accept
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# ctx->skb is a trusted struct sk_buff (skb->len at 112 on the host)
r1 = *(u64 *)(r1 + 8)
r0 = *(u32 *)(r1 + 112)
r0 = 1
exit
