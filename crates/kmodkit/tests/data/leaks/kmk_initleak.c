// Leaks in its __init function: the kernel frees .init.text and drops its symbols once
// init has run, so only the .ko names the call site.
#include <linux/module.h>
#include <linux/slab.h>

static void *kmk_initleak_buf;

static int __init kmk_initleak_init(void)
{
	kmk_initleak_buf = kmalloc(100, GFP_KERNEL); /* kmalloc-128 */
	return kmk_initleak_buf ? 0 : -ENOMEM;
}

static void __exit kmk_initleak_exit(void)
{
}

module_init(kmk_initleak_init);
module_exit(kmk_initleak_exit);
MODULE_LICENSE("GPL");
