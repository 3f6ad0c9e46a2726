/* A uprobe on a function of a program the test builds (its path given as -DTARGET="..."):
 * counts the calls. The binary is the test's own file, so no other process hits the probe. */
#include "vmlinux.h"
#include "helpers.h"

u64 calls = 0;

SEC("uprobe/" TARGET ":kmk_probe_target")
int on_call(void *ctx)
{
	__sync_fetch_and_add(&calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
