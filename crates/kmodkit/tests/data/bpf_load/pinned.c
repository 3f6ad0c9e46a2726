/* A map pinned by name (LIBBPF_PIN_BY_NAME): a second load reuses the pinned map. */
#include "vmlinux.h"
#include "helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared SEC(".maps");

SEC("socket")
int count(struct __sk_buff *skb)
{
	u32 k = 0;
	u64 one = 1;
	bpf_map_update_elem(&shared, &k, &one, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
