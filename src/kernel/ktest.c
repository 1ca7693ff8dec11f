#include <stdarg.h>

#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "lib/string.h"

extern const struct ktest ktests_start[], ktests_end[];
static const char *current;

void ktest_list(void)
{
	for (const struct ktest *t = ktests_start; t < ktests_end; t++)
		printk(" %s", t->name);
	printk("\n");
}

void ktest_run(const char *name)
{
	for (const struct ktest *t = ktests_start; t < ktests_end; t++) {
		if (strcmp(t->name, name) != 0)
			continue;
		current = t->name;
		printk("TEST %s: start\n", name);
		t->fn();
		printk("TEST %s: PASS\n", name);
		machine_exit(EXIT_PASS);
	}
	printk("unknown test '%s'; known tests:", name);
	ktest_list();
	machine_exit(EXIT_FAIL);
}

void ktest_fail(const char *fmt, ...)
{
	va_list ap;

	printk("TEST %s: FAIL ", current ? current : "?");
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	machine_exit(EXIT_FAIL);
}
