# type: sock_ops
# expect: reject
# class: bounds
# why: a narrow read of skb_tcp_flags must start at the field (bpf_ctx_narrow_access_ok on its offset only)
r2 = *(u8 *)(r1 + 213)
r0 = 1
exit
