#include "common.h"
struct bpf_map_def { u32 type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def SEC("maps") lengths = { .type = 2, .key_size = 4, .value_size = 8, .max_entries = 4 };
SEC("socket") int len_filter(struct __sk_buff *skb) {
  u32 k = skb->len > 100 ? 1 : 0;
  u64 *v = bpf_map_lookup_elem(&lengths, &k);
  if (v) *v += skb->len;
  return skb->len > 40 ? skb->len : 0;
}
char _license[] SEC("license") = "GPL";
