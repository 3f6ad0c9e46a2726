// Frees at exit what init allocated, and leaks what exit allocates: only the exit's
// allocation is outstanding once the module is gone.
#include <linux/module.h>
#include <linux/slab.h>

static void *kmk_exitleak_buf;
static void *kmk_exitleak_lost;

static int __init kmk_exitleak_init(void)
{
	kmk_exitleak_buf = kmalloc(50, GFP_KERNEL);
	return kmk_exitleak_buf ? 0 : -ENOMEM;
}

static void __exit kmk_exitleak_exit(void)
{
	kfree(kmk_exitleak_buf);
	kmk_exitleak_lost = kmalloc(600, GFP_KERNEL); /* kmalloc-1k */
	pr_info("kmk_exitleak: %p\n", kmk_exitleak_lost);
}

module_init(kmk_exitleak_init);
module_exit(kmk_exitleak_exit);
MODULE_LICENSE("GPL");
