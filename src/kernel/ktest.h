/*
 * In-kernel tests. `test=NAME` on the command line runs one after bring-up.
 * A test prints structured lines (the grader's traces match them) and ends
 * with "TEST NAME: PASS" (when its function returns) or "TEST NAME: FAIL
 * <reason>" (ktest_fail, KEXPECT), then QEMU exits with the pass or fail
 * status; a panic during a test ends with "TEST NAME: PANIC". These final
 * lines end with " nonce=HEX" when the command line has nonce=HEX (the
 * grader's per-run nonce). Tests live next to their lab: labs/labN-*\/ *.c.
 */
#ifndef STRATA_KTEST_H
#define STRATA_KTEST_H

#include "kernel/printk.h"

struct ktest {
	const char *name;
	void (*fn)(void);
};

#define KTEST(id)							\
	static void ktest_##id(void);					\
	static const struct ktest ktest_entry_##id			\
		__attribute__((section(".ktests." #id), used, aligned(4))) =	\
		{ #id, ktest_##id };					\
	static void ktest_##id(void)

void ktest_run(const char *name) __attribute__((noreturn));
void ktest_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void ktest_list(void);

#define KEXPECT(cond)							\
	do {								\
		if (!(cond))						\
			ktest_fail("%s:%d: expected %s", __FILE__,	\
				   __LINE__, #cond);			\
	} while (0)

#define KEXPECT_EQ(a, b)						\
	do {								\
		unsigned long _a = (unsigned long)(a);			\
		unsigned long _b = (unsigned long)(b);			\
		if (_a != _b)						\
			ktest_fail("%s:%d: %s == 0x%lx, expected %s == 0x%lx", \
				   __FILE__, __LINE__, #a, _a, #b, _b);	\
	} while (0)

#endif
