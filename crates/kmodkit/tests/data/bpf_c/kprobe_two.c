#include "common.h"
struct { __uint(type, 6); __uint(max_entries, 2); __type(key, u32); __type(value, u64); } calls SEC(".maps");
static __attribute__((always_inline)) void bump(u32 k) {
  u64 *v = bpf_map_lookup_elem(&calls, &k);
  if (v) (*v)++;
}
SEC("kprobe/do_unlinkat") int enter(void *ctx) { bump(0); return 0; }
SEC("kretprobe/do_unlinkat") int leave(void *ctx) { bump(1); return 0; }
char LICENSE[] SEC("license") = "Dual BSD/GPL";
