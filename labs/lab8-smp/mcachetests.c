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

/* malloc/free of 16..512 bytes and ppalloc/ppfree of single pages, as
 * fast as it goes: the workload whose lock waits the caches are for. */
static int churn(void *arg)
{
	void *p[CLIVE] = { 0 };
	uintptr_t pg[CLIVE / 4] = { 0 };
	uint32_t r = 1 + (uint32_t)(uintptr_t)arg * 7919;

	for (int s = 0; s < CSTEPS; s++) {
		r = r * 1103515245u + 12345u;
		int i = (r >> 8) % CLIVE, j = (r >> 20) % (CLIVE / 4);

		free(p[i]);
		if ((p[i] = malloc(16 + (r >> 12) % 497)) == NULL)
			return 1;
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
	KEXPECT(malloc_check() == 0);
}
