//@ LAB 6 FILE
/*
 * Benchmark of the kernel heap (src/mm/malloc.c) against the C library's
 * malloc (glibc), on the host, in the same run and on the same workloads:
 *
 *   mixed    small objects (8..512 bytes) with mixed lifetimes. A pool of
 *            LONG_SLOTS long-lived and SHORT_SLOTS short-lived slots starts
 *            full; each operation frees one slot (nine times in ten a
 *            short-lived one) and allocates a new block of a random size
 *            into it, touching its first and last byte. One op: free+malloc.
 *   batch64  alloc-all/free-all: BATCH blocks of 64 bytes, then all freed in
 *            the order they were allocated, round after round. One op: one
 *            malloc and its free.
 *   realloc  NBUF buffers grown together from 16 bytes to REALLOC_MAX by
 *            realloc (size + size/4 + 8 each step), touching the new last
 *            byte, then freed; again and again. One op: one realloc.
 *
 *   bench_malloc count    runs each workload once per allocator; the
 *                         measured part is bracketed by callgrind client
 *                         requests, so under valgrind --tool=callgrind
 *                         --collect-atstart=no each goes to a dump of its
 *                         own (bench/bench.py reads the instruction counts);
 *                         prints the ops of each
 *   bench_malloc time R   R interleaved repeats of every workload, each
 *                         run on both allocators back to back (libc first
 *                         in even repeats); prints each repeat's pair of ns
 *                         per op, then the median ns per op of each;
 *                         and memory overhead on mixed: peak memory taken
 *                         from the page source (strata: pages from the page
 *                         source x 4096; libc: mallinfo2() arena + hblkhd)
 *                         over peak live bytes requested
 *
 * bench/bench.py (make bench) prints the figures, targets and verdicts.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

static void *libc_alloc(size_t n)
{
	return malloc(n);
}

static void libc_release(void *p)
{
	free(p);
}

static void *libc_resize(void *p, size_t n)
{
	return realloc(p, n);
}

static size_t libc_memory(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
}

#include "mm/malloc.h"	/* from here on, malloc & co. are strata_malloc & co. */

#include "../tests/host_pages.h"

static void *strata_alloc(size_t n)
{
	return malloc(n);
}

static void strata_release(void *p)
{
	free(p);
}

static void *strata_resize(void *p, size_t n)
{
	return realloc(p, n);
}

static size_t strata_memory(void)
{
	return host_pages_in_use() * 4096;
}

#define LONG_SLOTS	8192
#define SHORT_SLOTS	512
#define NSLOTS		(LONG_SLOTS + SHORT_SLOTS)
#define SAMPLE_EVERY	256	/* memory samples in the measuring run */
#define BATCH		8192	/* batch64: blocks per round */
#define NBUF		64	/* realloc: buffers grown together */
#define REALLOC_MAX	8192

struct allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*release)(void *);
	void *(*resize)(void *, size_t);
	size_t (*memory)(void);		/* bytes taken from the system now */
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

static void *xalloc(const struct allocator *a, size_t n)
{
	void *p = a->alloc(n);

	if (p == NULL) {
		fprintf(stderr, "%s: malloc(%zu) failed\n", a->name, n);
		exit(1);
	}
	return p;
}

static inline void put(const struct allocator *a, unsigned i, size_t *live)
{
	uint32_t n = 8 + next_random() % 505;
	unsigned char *p = xalloc(a, n);

	p[0] = p[n - 1] = (unsigned char)i;
	slots[i].p = p;
	slots[i].n = n;
	*live += n;
}

/* This thread's CPU time: what it spends preempted on a loaded machine is
 * not counted. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- measuring: callgrind dumps (count mode) or time ---------------------- */

static int count_mode;
static char dump_name[64];
static double t_start;

static void measure_begin(const char *workload, const struct allocator *a)
{
	if (count_mode) {
		snprintf(dump_name, sizeof(dump_name), "%s/%s", workload, a->name);
		CALLGRIND_ZERO_STATS;
		CALLGRIND_TOGGLE_COLLECT;
	}
	t_start = now_ns();
}

/* Returns ns per op. */
static double measure_end(long ops)
{
	double ns = (now_ns() - t_start) / ops;

	if (count_mode) {
		CALLGRIND_TOGGLE_COLLECT;
		CALLGRIND_DUMP_STATS_AT(dump_name);
	}
	return ns;
}

/* ---- the workloads ---------------------------------------------------------- */

struct mem {
	size_t peak_live, peak_memory;
};

/*
 * mixed: ops operations after filling the slots. With m set, samples memory
 * use every SAMPLE_EVERY operations into *m (the run is then not timed).
 */
static double mixed(const struct allocator *a, long ops, struct mem *m)
{
	size_t live = 0, base = a->memory(), mem;
	unsigned i;
	long op;
	double ns;

	rng = 0x2545f4914f6cdd1dull;
	for (i = 0; i < NSLOTS; i++)
		put(a, i, &live);
	if (m == NULL)
		measure_begin("mixed", a);
	for (op = 0; op < ops; op++) {
		uint32_t r = next_random();
		i = (r & 0xff) < 230 ? LONG_SLOTS + (r >> 8) % SHORT_SLOTS : (r >> 8) % LONG_SLOTS;
		live -= slots[i].n;
		a->release(slots[i].p);
		put(a, i, &live);
		if (m != NULL && op % SAMPLE_EVERY == 0) {
			if (live > m->peak_live)
				m->peak_live = live;
			mem = a->memory() - base;
			if (mem > m->peak_memory)
				m->peak_memory = mem;
		}
	}
	ns = m == NULL ? measure_end(ops) : 0;
	for (i = 0; i < NSLOTS; i++)
		a->release(slots[i].p);
	return ns;
}

/* batch64: rounds of BATCH 64-byte mallocs, then their frees. One warm-up
 * round first. */
static double batch64(const struct allocator *a, int rounds)
{
	static unsigned char *p[BATCH];
	int r;
	unsigned i;

	for (r = -1; r < rounds; r++) {
		if (r == 0)
			measure_begin("batch64", a);
		for (i = 0; i < BATCH; i++) {
			p[i] = xalloc(a, 64);
			p[i][0] = p[i][63] = (unsigned char)i;
		}
		for (i = 0; i < BATCH; i++)
			a->release(p[i]);
	}
	return measure_end((long)rounds * BATCH);
}

/* realloc growth: rounds of NBUF buffers grown together. Returns ns per
 * realloc; *calls counts the reallocs of one round. */
static double growth(const struct allocator *a, int rounds, long *calls)
{
	static unsigned char *p[NBUF];
	size_t n;
	long c = 0;
	int r;
	unsigned i;

	for (r = -1; r < rounds; r++) {
		if (r == 0)
			measure_begin("realloc", a);
		for (i = 0; i < NBUF; i++) {
			p[i] = xalloc(a, 16);
			p[i][0] = (unsigned char)i;
		}
		for (n = 16; n < REALLOC_MAX;) {
			n += n / 4 + 8;
			for (i = 0; i < NBUF; i++) {
				unsigned char *q = a->resize(p[i], n);

				if (q == NULL) {
					fprintf(stderr, "%s: realloc(%zu) failed\n", a->name, n);
					exit(1);
				}
				q[n - 1] = (unsigned char)i;
				p[i] = q;
				c += r >= 0;
			}
		}
		for (i = 0; i < NBUF; i++)
			a->release(p[i]);
	}
	*calls = c;
	return measure_end(c);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

#define MAXREPS	64

int main(int argc, char **argv)
{
	const struct allocator al[2] = {
		{ "libc", libc_alloc, libc_release, libc_resize, libc_memory },
		{ "strata", strata_alloc, strata_release, strata_resize, strata_memory },
	};
	long mixed_ops, calls = 0;
	int batch_rounds, growth_rounds, reps, r, k, w;
	static double ns[3][2][MAXREPS];
	static const char *const wname[3] = { "mixed", "batch64", "realloc" };

	count_mode = argc > 1 && strcmp(argv[1], "count") == 0;
	reps = argc > 2 ? atoi(argv[2]) : 5;
	if (argc < 2 || (!count_mode && strcmp(argv[1], "time") != 0) || reps < 1 || reps > MAXREPS) {
		fprintf(stderr, "usage: bench_malloc count | bench_malloc time [REPS <= %d]\n"
			"  (make bench runs both through bench/bench.py)\n", MAXREPS);
		return 2;
	}
	mixed_ops = count_mode ? 200000 : 1000000;
	batch_rounds = count_mode ? 10 : 40;
	growth_rounds = count_mode ? 10 : 40;

	if (count_mode) {
		for (k = 0; k < 2; k++) {
			mixed(&al[k], mixed_ops, NULL);
			batch64(&al[k], batch_rounds);
			growth(&al[k], growth_rounds, &calls);
		}
		printf("count mixed ops %ld\ncount batch64 ops %ld\ncount realloc ops %ld\n",
		       mixed_ops, (long)batch_rounds * BATCH, calls);
		return 0;
	}

	/* Memory first, each allocator fresh. Strata's peak is exact: the
	 * page source records it. */
	for (k = 0; k < 2; k++) {
		struct mem m = { 0, 0 };

		if (k == 1)
			host_pages_reset_peak();
		mixed(&al[k], mixed_ops, &m);
		if (k == 1)
			m.peak_memory = host_pages_peak() * 4096;
		printf("memory mixed %s peak_memory %zu peak_live %zu\n", al[k].name,
		       m.peak_memory, m.peak_live);
	}
	/* Then time, interleaved: each repeat runs each workload on both, one
	 * right after the other (libc first in even repeats, strata first in
	 * odd ones), so that both see the same load. */
	for (r = 0; r < reps; r++) {
		for (w = 0; w < 3; w++) {
			for (int j = 0; j < 2; j++) {
				k = j ^ (r & 1);
				ns[w][k][r] = w == 0 ? mixed(&al[k], mixed_ops, NULL)
					    : w == 1 ? batch64(&al[k], batch_rounds)
						     : growth(&al[k], growth_rounds, &calls);
			}
		}
	}
	/* Each repeat's pair, for ratios taken within a repeat (bench.py). */
	for (w = 0; w < 3; w++)
		for (r = 0; r < reps; r++)
			printf("pair %s %d libc_ns %.2f strata_ns %.2f\n", wname[w], r,
			       ns[w][0][r], ns[w][1][r]);
	for (w = 0; w < 3; w++) {
		for (k = 0; k < 2; k++) {
			qsort(ns[w][k], reps, sizeof(double), cmp_double);
			printf("time %s %s median_ns %.2f min_ns %.2f max_ns %.2f reps %d\n", wname[w],
			       al[k].name, ns[w][k][reps / 2], ns[w][k][0], ns[w][k][reps - 1], reps);
		}
	}
	return 0;
}
