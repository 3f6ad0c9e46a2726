/* XDP and tc (tcx) programs counting UDP datagrams to port 9999: attached to one end of a veth
 * pair in a network namespace, each counts exactly the datagrams the test sends. */
#include "vmlinux.h"
#include "helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} seen SEC(".maps");

/* 1 when the packet in [data, end) is IPv4 UDP to port 9999 (network byte order 0x0f27). */
static __always_inline int is_probe(void *data, void *end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != 0x0008)
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != 17 || ip->ihl != 5)
		return 0;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return 0;
	return udp->dest == 0x0f27;
}

static __always_inline void count(u32 k)
{
	u64 *v = bpf_map_lookup_elem(&seen, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_probe(struct xdp_md *ctx)
{
	if (is_probe((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		count(0);
	return XDP_PASS;
}

SEC("tc")
int tc_probe(struct __sk_buff *skb)
{
	if (is_probe((void *)(long)skb->data, (void *)(long)skb->data_end))
		count(1);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "GPL";
