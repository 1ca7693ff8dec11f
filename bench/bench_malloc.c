//@ LAB 6 FILE
/*
 * Benchmark of the kernel heap (src/mm/malloc.c) against the C library's
 * malloc, on the host, in the same run and on the same workload.
 *
 * Workload: small objects (8..512 bytes) with mixed lifetimes. A pool of
 * LONG_SLOTS long-lived and SHORT_SLOTS short-lived slots starts full; each
 * operation frees one slot (nine times in ten a short-lived one) and
 * allocates a new block of a random size into it, touching its first and
 * last byte. So about LONG_SLOTS + SHORT_SLOTS blocks are live throughout.
 *
 * Reported: time per operation (one free + one malloc) for both, the ratio,
 * and memory overhead: peak memory taken from the page source (strata: pages
 * from kvmalloc x 4096; C library: mallinfo2() arena + hblkhd) over peak
 * live bytes requested. Targets: strata within 1.5x of the C library's time,
 * overhead at most 25%. PASS/MISS are informational; the exit status is 0.
 *
 *   gcc -std=gnu11 -O2 -DSTRATA_HOST -Isrc bench/bench_malloc.c src/mm/malloc.c tests/host_pages.c
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *libc_alloc(size_t n)
{
	return malloc(n);
}

static void libc_release(void *p)
{
	free(p);
}

static size_t libc_memory(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
}

#include "mm/malloc.h"	/* from here on, malloc & co. are strata_malloc & co. */

/* tests/host_pages.c */
size_t host_pages_in_use(void);
size_t host_pages_peak(void);
void host_pages_reset_peak(void);

static void *strata_alloc(size_t n)
{
	return malloc(n);
}

static void strata_release(void *p)
{
	free(p);
}

static size_t strata_memory(void)
{
	return host_pages_in_use() * 4096;
}

#define LONG_SLOTS	8192
#define SHORT_SLOTS	512
#define NSLOTS		(LONG_SLOTS + SHORT_SLOTS)
#define SAMPLE_EVERY	256	/* memory samples in the measuring run */

static long OPS = 4000000;	/* operations per run; argv[1] overrides */

struct allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*release)(void *);
	size_t (*memory)(void);		/* bytes taken from the system now */
};

struct result {
	double ns_per_op;
	size_t peak_live;
	size_t peak_memory;
};

static struct {
	unsigned char *p;
	uint32_t n;
} slots[NSLOTS];

static uint64_t rng;

static inline uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static inline void put(const struct allocator *a, unsigned i, size_t *live)
{
	uint32_t n = 8 + next_random() % 505;
	unsigned char *p = a->alloc(n);

	if (p == NULL) {
		fprintf(stderr, "%s: malloc(%u) failed\n", a->name, n);
		exit(1);
	}
	p[0] = p[n - 1] = (unsigned char)i;
	slots[i].p = p;
	slots[i].n = n;
	*live += n;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * One run of the workload. With measure set, samples memory use every
 * SAMPLE_EVERY operations (the run is then not timed); base is what the
 * allocator held before.
 */
static void run(const struct allocator *a, int measure, struct result *res)
{
	size_t live = 0, base = a->memory(), mem;
	unsigned i;
	long op;
	double t0;

	rng = 0x2545f4914f6cdd1dull;
	res->peak_live = res->peak_memory = 0;
	for (i = 0; i < NSLOTS; i++)
		put(a, i, &live);
	t0 = now_ns();
	for (op = 0; op < OPS; op++) {
		uint32_t r = next_random();
		i = (r & 0xff) < 230 ? LONG_SLOTS + (r >> 8) % SHORT_SLOTS : (r >> 8) % LONG_SLOTS;
		live -= slots[i].n;
		a->release(slots[i].p);
		put(a, i, &live);
		if (measure && op % SAMPLE_EVERY == 0) {
			if (live > res->peak_live)
				res->peak_live = live;
			mem = a->memory() - base;
			if (mem > res->peak_memory)
				res->peak_memory = mem;
		}
	}
	res->ns_per_op = (now_ns() - t0) / OPS;
	for (i = 0; i < NSLOTS; i++)
		a->release(slots[i].p);
}

int main(int argc, char **argv)
{
	const struct allocator libc = { "libc", libc_alloc, libc_release, libc_memory };
	const struct allocator strata = { "strata", strata_alloc, strata_release, strata_memory };
	struct result lm, sm, lt, st;
	double ratio, lover, sover;
	int round;

	if (argc > 1)
		OPS = atol(argv[1]);
	/* Memory first, each allocator fresh. Strata's peak is exact: the
	 * page source records it. */
	run(&libc, 1, &lm);
	host_pages_reset_peak();
	run(&strata, 1, &sm);
	sm.peak_memory = host_pages_peak() * 4096;

	/* Then time, alternating, best of five (the machine may be shared). */
	lt.ns_per_op = st.ns_per_op = 1e30;
	for (round = 0; round < 5; round++) {
		struct result r;
		run(&libc, 0, &r);
		if (r.ns_per_op < lt.ns_per_op)
			lt.ns_per_op = r.ns_per_op;
		run(&strata, 0, &r);
		if (r.ns_per_op < st.ns_per_op)
			st.ns_per_op = r.ns_per_op;
	}

	ratio = st.ns_per_op / lt.ns_per_op;
	lover = (double)lm.peak_memory / lm.peak_live - 1;
	sover = (double)sm.peak_memory / sm.peak_live - 1;
	printf("bench_malloc: %ld ops (free a slot, malloc 8..512 bytes), %d long-lived + %d short-lived slots\n",
	       OPS, LONG_SLOTS, SHORT_SLOTS);
	printf("  libc:   %6.1f ns/op   peak memory %8zu bytes for %8zu live: overhead %5.1f%%\n",
	       lt.ns_per_op, lm.peak_memory, lm.peak_live, 100 * lover);
	printf("  strata: %6.1f ns/op   peak memory %8zu bytes for %8zu live: overhead %5.1f%%\n",
	       st.ns_per_op, sm.peak_memory, sm.peak_live, 100 * sover);
	printf("  speed:    strata/libc = %.2fx (target <= 1.5x): %s\n",
	       ratio, ratio <= 1.5 ? "PASS" : "MISS");
	printf("  overhead: strata %.1f%% (target <= 25%%): %s\n",
	       100 * sover, sover <= 0.25 ? "PASS" : "MISS");
	return 0;
}
