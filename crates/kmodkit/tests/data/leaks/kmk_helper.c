// Leaks in two helpers called from init: one in .text (core), one in .init.text.
// Neither ends in a tail call, so the allocator's return address is in the helper.
#include <linux/module.h>
#include <linux/slab.h>

static void *kmk_helper_bufs[2];

static noinline int kmk_helper_core(void)
{
	kmk_helper_bufs[0] = kmalloc(300, GFP_KERNEL); /* kmalloc-512 */
	return kmk_helper_bufs[0] ? 0 : -ENOMEM;
}

static noinline int __init kmk_helper_init_part(void)
{
	kmk_helper_bufs[1] = kmalloc(40, GFP_KERNEL); /* kmalloc-64 */
	return kmk_helper_bufs[1] ? 0 : -ENOMEM;
}

static int __init kmk_helper_init(void)
{
	int err = kmk_helper_core();

	return err ? err : kmk_helper_init_part();
}

static void __exit kmk_helper_exit(void)
{
}

module_init(kmk_helper_init);
module_exit(kmk_helper_exit);
MODULE_LICENSE("GPL");
