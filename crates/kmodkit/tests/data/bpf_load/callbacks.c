/* Subprograms, bpf-to-bpf calls, bpf_loop and bpf_for_each_map_elem callbacks, BTF-defined
 * maps and global data in .data, .bss and .rodata. Every value it
 * writes is the same however often it runs: the map dump after one run is determined. */
#include "vmlinux.h"
#include "helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} sums SEC(".maps");

u64 total = 0;
u64 seen = 7;
const volatile u64 step = 3;

static long add_step(u32 i, void *ctx)
{
	u64 *sum = ctx;
	*sum += i * step;
	return 0;
}

static long visit(void *map, u32 *key, u64 *val, void *ctx)
{
	*(u64 *)ctx += *val;
	return 0;
}

static __noinline u64 twice(u64 x)
{
	return x * 2;
}

SEC("raw_tp/sys_enter")
int loops(void *ctx)
{
	u64 sum = 0, acc = 0;
	u32 k = 0;
	bpf_loop(10, add_step, &sum, 0);
	u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		*v = twice(sum);
	bpf_for_each_map_elem(&counts, visit, &acc, 0);
	total = acc;
	k = 1;
	bpf_map_update_elem(&sums, &k, &acc, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_twice(void *ctx)
{
	u32 k = 2;
	u64 x = twice(seen);
	bpf_map_update_elem(&counts, &k, &x, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
