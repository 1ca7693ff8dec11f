/*
 * Lab 8 in-kernel tests of malloc's caches (src/mm/malloc_cache.[ch]):
 * per-CPU magazines in front of the small size classes and parked arenas,
 * with malloc's checks still on (a double free into a magazine, a write
 * after free into a cached chunk, malloc_check over cached chunks).
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/printk.h"
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
