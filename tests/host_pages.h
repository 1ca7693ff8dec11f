//@ LAB 6 FILE
/*
 * tests/host_pages.c: malloc's page source on the host, and a panic that
 * a test can catch. Used by the malloc and cache unit tests, fuzz_malloc
 * and the malloc benchmark.
 *
 * Catching a panic: clear host_panic_msg, set host_panic_armed = 1, then
 * setjmp(host_panic_env); a panic longjmps back with its message in
 * host_panic_msg and disarms. Unarmed, a panic calls host_panic_hook (if
 * set), prints the message and aborts.
 */
#ifndef STRATA_TESTS_HOST_PAGES_H
#define STRATA_TESTS_HOST_PAGES_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

extern jmp_buf host_panic_env;
extern int host_panic_armed;
extern char host_panic_msg[1024];
extern void (*host_panic_hook)(const char *msg);

size_t host_pages_in_use(void);		/* pages held now */
size_t host_pages_peak(void);		/* most held since the last reset */
void host_pages_reset_peak(void);
size_t host_pages_calls(void);		/* successful allocs so far */
void host_pages_set_limit(size_t max_pages);	/* 0: no limit */
size_t host_pages_nranges(void);
/* The i-th live range (in no particular order); 0 if there is none. */
int host_pages_range(size_t i, uintptr_t *start, size_t *pages);

#ifdef CHECK_H
/* In fork mode every ck_assert costs a write to a pipe, even when it holds:
 * in loops use this instead. */
#define REQUIRE(cond, ...)							\
	do {									\
		if (!(cond))							\
			ck_abort_msg(__VA_ARGS__);				\
	} while (0)

/*
 * Runs stmt, which must panic with a message containing the printf-style
 * expectation that follows.
 */
#define EXPECT_PANIC(stmt, ...)							\
	do {									\
		char want_[256];						\
		snprintf(want_, sizeof(want_), __VA_ARGS__);			\
		host_panic_msg[0] = '\0';					\
		host_panic_armed = 1;						\
		if (setjmp(host_panic_env) == 0) {				\
			stmt;							\
			host_panic_armed = 0;					\
			ck_abort_msg("no panic; expected \"%s\"", want_);	\
		}								\
		ck_assert_msg(strstr(host_panic_msg, want_) != NULL,		\
			      "panic \"%s\"; expected \"%s\"", host_panic_msg, want_); \
	} while (0)
#endif /* CHECK_H: the Check tests' helpers */

#endif
