// Frees everything it allocates, in init and at exit.
#include <linux/module.h>
#include <linux/slab.h>

static void *kmk_clean_buf;

static noinline void kmk_clean_scratch(void)
{
	void *p = kmalloc(200, GFP_KERNEL);

	pr_info("kmk_clean: %p\n", p);
	kfree(p);
}

static int __init kmk_clean_init(void)
{
	kmk_clean_scratch();
	kmk_clean_buf = kmalloc(200, GFP_KERNEL);
	return kmk_clean_buf ? 0 : -ENOMEM;
}

static void __exit kmk_clean_exit(void)
{
	kmk_clean_scratch();
	kfree(kmk_clean_buf);
}

module_init(kmk_clean_init);
module_exit(kmk_clean_exit);
MODULE_LICENSE("GPL");
