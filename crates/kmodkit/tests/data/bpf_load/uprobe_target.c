/* The user program uprobe.c probes: calls kmk_probe_target three times. */
__attribute__((noinline)) int kmk_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

int main(void)
{
	int v = 0;
	for (int i = 0; i < 3; i++)
		v = kmk_probe_target(v);
	return v == 3 ? 0 : 1;
}
