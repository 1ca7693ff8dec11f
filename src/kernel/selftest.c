/*
 * Kernels that misbehave on purpose, so the grader's own tests can show
 * that a hang, a triple fault, a panic or endless output is graded as a
 * failure with the right reason (grader/selftest/).
 */
#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "kernel/x86.h"

KTEST(selftest_pass)
{
	printk("selftest: passing\n");
}

KTEST(selftest_fail)
{
	ktest_fail("selftest failure");
}

KTEST(selftest_panic)
{
	panic("selftest panic");
}

KTEST(selftest_hang)
{
	cli();
	for (;;)
		__asm__ volatile("pause");
}

KTEST(selftest_triple)
{
	struct dtr none = { 0, 0 };

	lidt(&none);
	__asm__ volatile("int3");
}

KTEST(selftest_flood)
{
	for (unsigned i = 0;; i++)
		printk("selftest: flooding the console, line %u\n", i);
}
