#include "common.h"
struct { __uint(type, 1); __uint(max_entries, 256); __type(key, u32); __type(value, u64); } proto_count SEC(".maps");
const volatile u32 min_len = 14;
u64 packets_seen;
u32 last_len = 7;

static __attribute__((noinline)) u32 fold(u32 x) { return (x >> 8) ^ (x & 0xff) ^ last_len; }

SEC("xdp") int count_protocols(struct xdp_md *ctx) {
  u8 *data = (u8 *)(long)ctx->data;
  u8 *end = (u8 *)(long)ctx->data_end;
  if (data + 14 > end) return 1;
  u32 proto = ((u32)data[12] << 8) | data[13];
  u32 sum = 0;
  for (int i = 0; i < 14; i++) sum += data[i];
  u32 key = fold(proto) & 0xff;
  u64 *v = bpf_map_lookup_elem(&proto_count, &key);
  if (v) __sync_fetch_and_add(v, 1);
  else { u64 one = 1; bpf_map_update_elem(&proto_count, &key, &one, 0); }
  packets_seen++;
  last_len = (u32)(end - data);
  return (end - data) < min_len ? 1 : 2 + (sum & 0);
}
char LICENSE[] SEC("license") = "GPL";
