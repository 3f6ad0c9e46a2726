# type: cgroup_skb
# expect: accept
# skb->sk after a NULL check: sock_common fields (family, a byte of dst_ip6, dst_port as
# u16), then bpf_sk_fullsock for the full socket's type, bpf_tcp_sock for bytes_acked.
r1 = *(u64 *)(r1 + 168)
if r1 == 0 goto out
r2 = *(u32 *)(r1 + 4)
r2 = *(u8 *)(r1 + 57)
r2 = *(u16 *)(r1 + 48)
r6 = r1
call 95
if r0 == 0 goto out
r2 = *(u8 *)(r0 + 8)
r1 = r6
call 96
if r0 == 0 goto out
r2 = *(u64 *)(r0 + 88)
r2 = *(u32 *)(r0 + 0)
out:
r0 = 1
exit
