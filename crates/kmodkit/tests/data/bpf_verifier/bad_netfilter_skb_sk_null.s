# type: netfilter
# section: netfilter
# expect: reject
# btf: host (offsets of the host kernel's structs; judged with its BTF)
# class: null
# skb->sk (at 24) may be NULL (BTF_TYPE_SAFE_RCU_OR_NULL(struct sk_buff))
r1 = *(u64 *)(r1 + 8)
r1 = *(u64 *)(r1 + 24)
r0 = *(u32 *)(r1 + 0)
r0 = 1
exit
