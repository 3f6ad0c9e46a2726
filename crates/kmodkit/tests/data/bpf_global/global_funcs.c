/* Global functions (BTF linkage global): the kernel verifies each on its own, from its
 * prototype, and a call only checks the arguments. Each program is annotated as the
 * kernel's selftests are (`__success`, `__failure`, `__msg`); the host kernel's verdicts
 * confirm the annotations (`kmodkit bpf selftests --live`). */
typedef unsigned int u32;
typedef unsigned long long u64;
#define SEC(n) __attribute__((section(n), used))
#define __success __attribute__((btf_decl_tag("comment:test_expect_success")))
#define __failure __attribute__((btf_decl_tag("comment:test_expect_failure")))
#define __msg(m) __attribute__((btf_decl_tag("comment:test_expect_msg=0=" m)))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))

struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)44;

/* A pointer argument may be NULL: the function must check it. */
__attribute__((noinline)) int checked(int *p)
{
	return p ? *p * 2 : 0;
}

__attribute__((noinline)) int unchecked(int *p)
{
	return *p * 2;
}

__attribute__((noinline)) int nonnull(int *p __arg_nonnull)
{
	return *p * 2;
}

SEC("?xdp") __success
int pass_stack_to_checked(struct xdp_md *ctx)
{
	int x = ctx->ingress_ifindex;

	return checked(&x) & 1;
}

SEC("?xdp") __failure __msg("invalid mem access 'mem_or_null'")
int unchecked_arg_is_rejected_whatever_the_caller_passes(struct xdp_md *ctx)
{
	int x = ctx->ingress_ifindex;

	return unchecked(&x) & 1;
}

SEC("?xdp") __success
int nonnull_arg_needs_no_check(struct xdp_md *ctx)
{
	int x = ctx->ingress_ifindex;

	return nonnull(&x) & 1;
}

/* NULL itself may be passed (check_mem_reg accepts a known zero): the kernel's rule. */
SEC("?xdp") __success
int null_for_a_nonnull_arg(struct xdp_md *ctx)
{
	return nonnull((int *)0) & 1;
}

/* A global function's result is any scalar, whatever it returns. */
__attribute__((noinline)) int low_bit(int x)
{
	return x & 1;
}

SEC("?xdp") __failure __msg("ctx")
int result_is_unknown(struct xdp_md *ctx)
{
	return *((volatile u32 *)ctx + low_bit(ctx->ingress_ifindex)) ? 1 : 2;
}

/* The context, by type or by tag. */
__attribute__((noinline)) int by_type(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex & 1;
}

__attribute__((noinline)) int by_tag(void *ctx __arg_ctx)
{
	return by_type(ctx);
}

SEC("?xdp") __success
int ctx_arguments(struct xdp_md *ctx)
{
	return by_tag(ctx) + by_type(ctx) > 0 ? 1 : 2;
}

SEC("?xdp") __failure __msg("expects pointer to ctx")
int stack_for_a_ctx_arg(struct xdp_md *ctx)
{
	struct xdp_md fake = {};

	return by_type(&fake) ? 1 : 2;
}

/* A global function that may move the packet: the caller's packet pointers are gone. */
__attribute__((noinline)) int grow(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_head(ctx, -4) ? 0 : 1;
}

SEC("?xdp") __failure __msg("invalid mem access 'scalar'")
int packet_pointer_after_global_call(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;

	if (data + 1 > end)
		return 2;
	grow(ctx);
	return *(volatile unsigned char *)data ? 1 : 2;
}

/* Stack depths add up along the call chain, global functions included. */
__attribute__((noinline)) int big_frame(int x)
{
	volatile char buf[256];

	buf[x & 255] = 1;
	return buf[(x + 1) & 255];
}

SEC("?xdp") __failure __msg("combined stack size")
int stack_too_deep_through_a_global(struct xdp_md *ctx)
{
	volatile char buf[300];

	buf[ctx->ingress_ifindex & 255] = 1;
	return big_frame(buf[1]) ? 1 : 2;
}

SEC("?xdp") __success
int stack_fits(struct xdp_md *ctx)
{
	volatile char buf[200];

	buf[ctx->ingress_ifindex & 127] = 1;
	return big_frame(buf[1]) ? 1 : 2;
}

char LICENSE[] SEC("license") = "GPL";
