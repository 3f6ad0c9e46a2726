/* A kfunc the kernel does not have, not __weak: loading fails naming it. */
#include "vmlinux.h"
#include "helpers.h"

extern void bpf_kmodkit_no_such_kfunc(void) __ksym;

SEC("xdp")
int missing(struct xdp_md *ctx)
{
	bpf_kmodkit_no_such_kfunc();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
