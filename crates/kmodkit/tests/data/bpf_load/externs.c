/* Externs: kfunc calls (resolved to the kernel's BTF ids; a missing __weak one is poisoned
 * where it cannot run) and .kconfig variables (filled from the kernel's config and version,
 * in a frozen map of their own). */
#include "vmlinux.h"
#include "helpers.h"

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void bpf_kmodkit_no_such_kfunc(void) __ksym __weak;
extern int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_KMODKIT_NOT_AN_OPTION __kconfig __weak;

u64 out[4] = {};

SEC("xdp")
int ext_use(struct xdp_md *ctx)
{
	bpf_rcu_read_lock();
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = CONFIG_HZ;
	out[2] = CONFIG_BPF_SYSCALL;
	out[3] = CONFIG_KMODKIT_NOT_AN_OPTION;
	bpf_rcu_read_unlock();
	if (CONFIG_KMODKIT_NOT_AN_OPTION) /* 0, read-only: dead code the verifier drops */
		bpf_kmodkit_no_such_kfunc();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
