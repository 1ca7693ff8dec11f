/*
 * Lab 8 in-kernel tests of malloc's caches (src/mm/malloc_cache.[ch]):
 * per-CPU magazines in front of the small size classes and parked arenas,
 * with malloc's checks still on (a double free into a magazine, a write
 * after free into a cached chunk, malloc_check over cached chunks).
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/lock.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "lib/string.h"
#include "mm/malloc.h"
#include "mm/ppalloc.h"

static uint32_t seed = 12345;

static uint32_t next_random(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static size_t cached_chunks(void)
{
	struct malloc_cache_stats cs;

	malloc_cache_stats(&cs);
	return cs.cached_chunks;
}

/* A block freed into a magazine and freed again: still a double free. */
KTEST(mcache_double_free)
{
	void *p = malloc(48);

	KEXPECT(p != NULL);
	free(p);
	KEXPECT(cached_chunks() >= 1);
	printk("mcache_double_free: freeing %p again (cached)\n", p);
	free(p);
}

/* Booted with malloc_poison: a write into a cached chunk is caught when
 * the magazine hands it out again. */
KTEST(mcache_use_after_free)
{
	char *p = malloc(64), *q;

	KEXPECT(malloc_poison);
	KEXPECT(p != NULL);
	free(p);
	KEXPECT(cached_chunks() >= 1);
	printk("mcache_use_after_free: writing to %p after freeing it (cached)\n", p);
	p[20] = 1;
	q = malloc(64);
	printk("mcache_use_after_free: not caught, malloc returned %p\n", q);
}

#define NLIVE	256

/* Random malloc/realloc/free with the caches on, malloc_check after every
 * 500 steps (it counts the cached chunks against the magazines); then
 * malloc_trim gives back all but lab 6's one arena. */
KTEST(mcache_check)
{
	static unsigned char *p[NLIVE];
	static size_t n[NLIVE];
	struct malloc_stats ms;
	size_t hits = 0;

	for (int step = 0; step < 20000; step++) {
		int i = next_random() % NLIVE;

		if (p[i] != NULL) {
			KEXPECT(p[i][0] == (unsigned char)i && p[i][n[i] - 1] == (unsigned char)i);
			if (next_random() % 4 == 0) {
				n[i] = 1 + next_random() % 2000;
				p[i] = realloc(p[i], n[i]);
				KEXPECT(p[i] != NULL);
				p[i][0] = p[i][n[i] - 1] = (unsigned char)i;
			} else {
				free(p[i]);
				p[i] = NULL;
			}
		} else {
			n[i] = 1 + next_random() % 600;
			p[i] = malloc(n[i]);
			KEXPECT(p[i] != NULL);
			p[i][0] = p[i][n[i] - 1] = (unsigned char)i;
		}
		hits += cached_chunks() > 0;
		if (step % 500 == 0)
			KEXPECT(malloc_check() == 0);
	}
	KEXPECT(hits > 10000);		/* the magazines were in use */
	for (int i = 0; i < NLIVE; i++)
		free(p[i]);
	KEXPECT(malloc_check() == 0);
	malloc_trim();
	KEXPECT(cached_chunks() == 0);
	KEXPECT(malloc_check() == 0);
	malloc_stats(&ms);
	KEXPECT(ms.pages == 16);	/* lab 6's one empty arena */
	printk("mcache_check: 20000 steps checked with the caches on; trimmed to %u pages\n",
	       ms.pages);
}

/* ---- ppalloc's single-page caches ---------------------------------------- */

/* A page freed into this CPU's page magazine counts as free, comes back
 * first, and freeing it twice is still a double free. */
KTEST(ppcache_double_free)
{
	struct ppstats before, after;
	uintptr_t a, b;

	KEXPECT(ppalloc(1, 1, &a) == 1);
	ppstats(&before);
	ppfree(a, 1);
	ppstats(&after);
	KEXPECT(after.free == before.free + 1);
	KEXPECT(ppcache_pages() >= 1);
	KEXPECT(ppalloc(1, 1, &b) == 1);
	KEXPECT(b == a);		/* a LIFO */
	ppfree(b, 1);
	printk("ppcache_double_free: freeing 0x%08x again (cached)\n", b);
	ppfree(b, 1);
}

/* ---- contention: the allocators' locks with and without the caches ------ */

#define CWORKERS	4
#define CSTEPS		20000
#define CLIVE		64

static struct lock *known_lock(const char *name)
{
	for (struct lock *lk = lock_known(NULL); lk; lk = lock_known(lk))
		if (strcmp(lk->name, name) == 0)
			return lk;
	return NULL;
}

/* A block's owner tag, in its first and last word (the first word is the
 * link of a cached chunk: a magazine that handed a chunk out twice, or a
 * reader following links it does not own, shows here). */
static uint32_t owner_tag(int w, int i)
{
	return 0x6d000000u | (uint32_t)w << 16 | (uint32_t)i;
}

static volatile int churn_bad;

/* malloc/free of 16..512 bytes and ppalloc/ppfree of single pages, as
 * fast as it goes: the workload whose lock waits the caches are for. Each
 * block carries its owner's tag, checked before it is freed. */
static int churn(void *arg)
{
	uint32_t *p[CLIVE] = { 0 };
	size_t n[CLIVE] = { 0 };
	uintptr_t pg[CLIVE / 4] = { 0 };
	int w = (int)(uintptr_t)arg;
	uint32_t r = 1 + (uint32_t)w * 7919;

	for (int s = 0; s < CSTEPS; s++) {
		r = r * 1103515245u + 12345u;
		int i = (r >> 8) % CLIVE, j = (r >> 20) % (CLIVE / 4);

		if (p[i] && (p[i][0] != owner_tag(w, i) || p[i][n[i] / 4 - 1] != owner_tag(w, i)))
			churn_bad = 1;
		free(p[i]);
		n[i] = 16 + (r >> 12) % 497;
		if ((p[i] = malloc(n[i])) == NULL)
			return 1;
		p[i][0] = p[i][n[i] / 4 - 1] = owner_tag(w, i);
		if (pg[j])
			ppfree(pg[j], 1);
		if (ppalloc(1, 1, &pg[j]) != 1)
			return 1;
	}
	for (int i = 0; i < CLIVE; i++)
		free(p[i]);
	for (int j = 0; j < CLIVE / 4; j++)
		if (pg[j])
			ppfree(pg[j], 1);
	return 0;
}

/* One run of the workers; prints each lock's waits per 10^5 operations
 * (a malloc or free, a ppalloc or ppfree). */
static void contention_run(const char *what)
{
	struct lock *heap = known_lock("heap"), *pp = known_lock("ppalloc");
	uint32_t hs = heap->spins, ha = heap->acquires, ps = pp->spins, pa = pp->acquires;
	struct thread *t[CWORKERS];
	uint32_t ops = CWORKERS * CSTEPS * 2;	/* per allocator */
	int v;

	for (int i = 0; i < CWORKERS; i++)
		KEXPECT((t[i] = thread_create("churn", churn, (void *)(uintptr_t)i)));
	for (int i = 0; i < CWORKERS; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		KEXPECT_EQ(v, 0);
	}
	printk("alloc_contention: %s: heap lock %u acquisitions, %u waited; "
	       "ppalloc lock %u acquisitions, %u waited; per 1e5 ops: heap %u, ppalloc %u\n",
	       what, heap->acquires - ha, heap->spins - hs, pp->acquires - pa, pp->spins - ps,
	       (heap->spins - hs) * 100 / (ops / 1000), (pp->spins - ps) * 100 / (ops / 1000));
}

/* make bench boots this with -smp 4 and reads the figures (bench/bench.py). */
KTEST(alloc_contention)
{
	malloc_cache_enable(0);		/* (each takes its lock: both are known) */
	ppcache_enable(0);
	KEXPECT(known_lock("heap") != NULL && known_lock("ppalloc") != NULL);
	printk("alloc_contention: %d CPU(s), %d workers x %d steps\n", ncpu, CWORKERS, CSTEPS);
	contention_run("caches off");
	malloc_cache_enable(1);
	ppcache_enable(1);
	contention_run("caches on");
	KEXPECT(!churn_bad);
	KEXPECT(malloc_check() == 0);
	printk("alloc_contention: every block's owner tag intact; malloc_check clean\n");
}

/* ---- every CPU's caches at once ------------------------------------------ */

static volatile int churners_left;
static volatile uint32_t churn_cpus;

static int cpu_churn(void *arg)
{
	int v;

	irq_push();
	__atomic_fetch_or(&churn_cpus, 1u << (mycpu()->id & 31), __ATOMIC_RELAXED);
	irq_pop();
	v = churn(arg);
	__atomic_fetch_sub(&churners_left, 1, __ATOMIC_RELAXED);
	return v;
}

/* Reads the caches' figures while every CPU's magazines change. */
static int stats_reader(void *arg)
{
	struct malloc_cache_stats cs;
	uint32_t *reads = arg;

	while (churners_left > 0) {
		malloc_cache_stats(&cs);
		(void)ppcache_pages();
		(*reads)++;
	}
	return 0;
}

struct freewalk {
	size_t units;
};

static void count_free(void *arg, unsigned order, size_t start)
{
	(void)start;
	((struct freewalk *)arg)->units += (size_t)1 << order;
}

static int popcount32(uint32_t m)
{
	int k = 0;

	for (; m; m &= m - 1)
		k++;
	return k;
}

/*
 * The workers leave chunks and pages in the magazines of the CPUs they ran
 * on; malloc_flush_all and ppcache_flush_all then empty every CPU's, each
 * flushed by its own CPU (at its next call or tick), so the heap and the
 * buddy hold everything again. Meanwhile a reader takes the caches'
 * statistics (the heap monitor command's), which must not follow other
 * CPUs' magazine links.
 */
KTEST(mcache_smp)
{
	struct thread *t[CWORKERS + 1];
	struct ppstats st;
	struct freewalk fw = { 0 };
	uint32_t reads = 0;
	size_t chunks, pages;
	int v;

	churners_left = CWORKERS;
	churn_cpus = 0;
	KEXPECT((t[CWORKERS] = thread_create("stats", stats_reader, &reads)));
	for (int i = 0; i < CWORKERS; i++)
		KEXPECT((t[i] = thread_create("churn", cpu_churn, (void *)(uintptr_t)i)));
	for (int i = 0; i <= CWORKERS; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		KEXPECT_EQ(v, 0);
	}
	KEXPECT(!churn_bad);
	printk("mcache_smp: %d workers on %d CPU(s), every block's owner tag intact; "
	       "the caches' statistics read %s while they ran\n", CWORKERS,
	       popcount32(churn_cpus), reads > 0 ? "many times" : "never");
	chunks = cached_chunks();
	pages = ppcache_pages();
	printk("mcache_smp: cached after the workers: chunks %s, pages %s\n",
	       chunks ? "yes" : "no", pages ? "yes" : "no");
	KEXPECT_EQ(malloc_flush_all(), 0);
	KEXPECT_EQ(ppcache_flush_all(), 0);
	chunks = cached_chunks();
	pages = ppcache_pages();
	ppstats(&st);
	ppalloc_for_each_free(count_free, &fw);
	printk("mcache_smp: after malloc_flush_all and ppcache_flush_all: %u chunks and %u "
	       "pages cached; the buddy's free blocks %s ppstats' free count\n", chunks, pages,
	       fw.units == st.free ? "sum to" : "do not sum to");
	KEXPECT_EQ(chunks, 0);
	KEXPECT_EQ(pages, 0);
	KEXPECT_EQ(fw.units, st.free);
	KEXPECT_EQ(malloc_check(), 0);
	printk("mcache_smp: malloc_check clean\n");
}
