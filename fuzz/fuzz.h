/*
 * What the libFuzzer targets in fuzz/ share: reading the fuzzer's input as
 * a stream of small numbers (each target turns them into operations), a
 * count of the operations and checks done (printed at exit: the figures
 * in the reliability note), and FUZZ_ASSERT, which reports a broken
 * invariant with the operation count and aborts (libFuzzer saves the
 * input as a crash file).
 *
 * Built with clang -m32 (the kernel's types: size_t and uintptr_t are 32
 * bits) and -fsanitize=fuzzer,address,undefined; see the Makefile's fuzz
 * section.
 */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct input {
	const uint8_t *p;
	size_t n;
};

/* The next `bytes` bytes (1..4) as a little-endian number; 0 once the
 * input is used up (input_done tells). */
static inline uint32_t take(struct input *in, int bytes)
{
	uint32_t v = 0;

	for (int i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint32_t)in->p[0] << (8 * i);
	return v;
}

static inline int input_done(const struct input *in)
{
	return in->n == 0;
}

/* Counted by the targets; fuzz_report prints them when the fuzzer exits. */
extern unsigned long long fuzz_ops, fuzz_checks;
extern const char *fuzz_name;

#define FUZZ_ASSERT(cond, ...)						\
	do {								\
		fuzz_checks++;						\
		if (!(cond)) {						\
			fprintf(stderr, "%s: invariant broken after %llu operations: ", \
				fuzz_name, fuzz_ops);			\
			fprintf(stderr, __VA_ARGS__);			\
			fprintf(stderr, " (%s:%d: %s)\n", __FILE__, __LINE__, #cond); \
			abort();					\
		}							\
	} while (0)

/* Registers the exit report; call from LLVMFuzzerInitialize. */
void fuzz_init(const char *name);

#endif
