/* A typeless kernel symbol (`extern const void x __ksym`): an lddw of its address, which the
 * loader takes from /proc/kallsyms. (Typed ones, per-CPU variables by BTF id, need the
 * kernel's CONFIG_KALLSYMS_ALL, which the host lacks: the kernel refuses them there, for
 * bpftool too.) */
#include "vmlinux.h"
#include "helpers.h"

extern const void _text __ksym;

u64 out = 0;

SEC("raw_tp/sys_enter")
int ksyms(void *ctx)
{
	out = (u64)&_text;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
