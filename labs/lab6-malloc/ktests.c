/*
 * Lab 6 in-kernel tests: malloc, realloc, free on kvmalloc'd arenas.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "lib/string.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/malloc.h"

#define MAX_LIVE	512

struct walk_state {
	int chunks, free_chunks, adjacent_free;
	uintptr_t last_end;
	int last_free;
};

static void count_chunk(void *arg, void *start, size_t size, int is_free)
{
	struct walk_state *w = arg;

	w->chunks++;
	w->free_chunks += is_free;
	if (is_free && w->last_free && w->last_end == (uintptr_t)start)
		w->adjacent_free++;
	w->last_end = (uintptr_t)start + size;
	w->last_free = is_free;
}

static struct walk_state walk(void)
{
	struct walk_state w = { 0 };

	malloc_walk(count_chunk, &w);
	return w;
}

KTEST(malloc_semantics)
{
	void *z1 = malloc(0), *z2 = malloc(0);
	char *p;

	KEXPECT(z1 && z2 && z1 != z2);
	free(z1);
	free(z2);
	free(NULL);
	for (size_t n = 1; n <= 4096; n = n * 2 + 1) {
		p = malloc(n);
		KEXPECT(p != NULL);
		KEXPECT_EQ((uintptr_t)p % 16, 0);
		memset(p, 0xa5, n);
		free(p);
	}
	printk("malloc_semantics: malloc(0) unique, free(NULL) no-op, 16-byte aligned\n");
	p = realloc(NULL, 40);
	KEXPECT(p != NULL);
	KEXPECT_EQ(realloc(p, 0), NULL);
	KEXPECT_EQ(malloc((size_t)-1), NULL);
	KEXPECT_EQ(malloc((size_t)-4096), NULL);
	KEXPECT_EQ(calloc((size_t)1 << 20, (size_t)1 << 20), NULL);
	p = calloc(100, 3);
	KEXPECT(p != NULL);
	for (int i = 0; i < 300; i++)
		KEXPECT_EQ(p[i], 0);
	free(p);
	KEXPECT_EQ(malloc_check(), 0);
	printk("malloc_semantics: realloc(NULL, n), realloc(p, 0), huge sizes, calloc\n");
}

KTEST(malloc_coalesce)
{
	char *a = malloc(200), *b = malloc(200), *c = malloc(200), *guard = malloc(200);
	struct walk_state before, after;

	KEXPECT(a && b && c && guard);
	before = walk();
	free(a);
	free(c);
	KEXPECT_EQ(walk().free_chunks, before.free_chunks + 2);
	free(b);	/* joins a, b and c: both neighbours free */
	after = walk();
	KEXPECT_EQ(after.free_chunks, before.free_chunks + 1);
	KEXPECT_EQ(after.adjacent_free, 0);
	printk("malloc_coalesce: a, c, then b freed: one free chunk\n");
	free(guard);
	KEXPECT_EQ(walk().adjacent_free, 0);
	KEXPECT_EQ(malloc_check(), 0);
}

KTEST(malloc_realloc)
{
	char *p = malloc(64), *q, *block = malloc(64), *r;

	KEXPECT(p && block);
	for (int i = 0; i < 64; i++)
		p[i] = (char)i;
	free(block);	/* the chunk after p is free now: grow in place */
	q = realloc(p, 100);
	KEXPECT_EQ(q, p);
	for (int i = 0; i < 64; i++)
		KEXPECT_EQ(q[i], (char)i);
	printk("malloc_realloc: grew in place into the free neighbour\n");
	r = malloc(16);		/* a neighbour that blocks growth */
	q = realloc(p, 3000);
	KEXPECT(q != NULL);
	for (int i = 0; i < 64; i++)
		KEXPECT_EQ(q[i], (char)i);
	p = realloc(q, 10);
	KEXPECT_EQ(p, q);	/* shrinking stays in place */
	for (int i = 0; i < 10; i++)
		KEXPECT_EQ(p[i], (char)i);
	free(p);
	free(r);
	KEXPECT_EQ(malloc_check(), 0);
	printk("malloc_realloc: moved with contents, shrank in place\n");
}

static struct { unsigned char *p; size_t n; } live[MAX_LIVE];
static uint32_t rng = 1;

static uint32_t next_random(void)
{
	rng = rng * 1103515245 + 12345;
	return rng >> 8;
}

static void check_block(int i)
{
	for (size_t k = 0; k < live[i].n; k++)
		if (live[i].p[k] != (unsigned char)(i + k))
			ktest_fail("block %d (%p) byte %u changed", i, live[i].p, k);
}

static void stress(int steps)
{
	for (int s = 0; s < steps; s++) {
		int i = next_random() % MAX_LIVE;
		if (live[i].p) {
			check_block(i);
			if (next_random() % 4 == 0) {
				size_t n = 1 + next_random() % 3000;
				unsigned char *q = realloc(live[i].p, n);
				KEXPECT(q != NULL);
				for (size_t k = live[i].n; k < n; k++)
					q[k] = (unsigned char)(i + k);
				live[i].p = q;
				live[i].n = n;
				continue;
			}
			free(live[i].p);
			live[i].p = NULL;
		} else {
			size_t n = next_random() % 8 ? 1 + next_random() % 512
						     : 1 + next_random() % 20000;
			live[i].p = malloc(n);
			KEXPECT(live[i].p != NULL);
			live[i].n = n;
			for (size_t k = 0; k < n; k++)
				live[i].p[k] = (unsigned char)(i + k);
		}
	}
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i].p)
			check_block(i);
		free(live[i].p);
		live[i].p = NULL;
	}
}

KTEST(malloc_stress)
{
	struct ppstats before, after;
	struct malloc_stats ms;
	size_t kvirt;

	stress(2000);		/* warm up: creates the kernel page tables it needs */
	ppstats(&before);
	kvirt = vpfree_count(NULL);
	malloc_stats(&ms);
	rng = 7;
	stress(20000);
	KEXPECT_EQ(malloc_check(), 0);
	KEXPECT_EQ(walk().adjacent_free, 0);
	malloc_stats(&ms);
	ppstats(&after);
	printk("malloc_stress: 20000 steps; heap keeps %u pages when empty\n", ms.pages);
	KEXPECT(ms.used_bytes == 0);
	KEXPECT_EQ(after.free, before.free);
	KEXPECT_EQ(vpfree_count(NULL), kvirt);
	printk("malloc_stress: free physical and kernel virtual pages back to their values\n");
}

KTEST(malloc_double_free)
{
	void *p = malloc(48);

	free(p);
	printk("malloc_double_free: freeing %p again\n", p);
	free(p);
}

KTEST(malloc_bad_pointer)
{
	static char not_heap[64];
	void *p = malloc(24);

	KEXPECT(p != NULL);	/* the heap works; the pointer below is not from it */
	free(p);
	printk("malloc_bad_pointer: freeing %p\n", (void *)&not_heap[16]);
	free(&not_heap[16]);
}

KTEST(malloc_corrupt_header)
{
	char *p = malloc(32), *q = malloc(32);

	KEXPECT(p != NULL && q != NULL);	/* never write through NULL - 8 */
	/* An underrun of q's neighbour: the bytes just before p. */
	memset(p - 8, 0x41, 8);
	printk("malloc_corrupt_header: freeing %p after overwriting its header\n", p);
	free(p);
}

/* Booted with malloc_poison: a write after free is caught at reuse. */
KTEST(malloc_use_after_free)
{
	char *p = malloc(64), *q;

	KEXPECT(malloc_poison);
	KEXPECT(p != NULL);
	free(p);
	printk("malloc_use_after_free: writing to %p after freeing it\n", p);
	p[20] = 1;
	q = malloc(64);
	printk("malloc_use_after_free: not caught, malloc returned %p\n", q);
}

/* A write past the end of a block reaches its footer. */
KTEST(malloc_overrun)
{
	char *p = malloc(40), *guard = malloc(40);

	KEXPECT(p != NULL && guard != NULL);
	memset(p, 0x41, 56);	/* 40 asked, 48 in the chunk: 8 more are the footer */
	printk("malloc_overrun: freeing %p after writing 16 bytes past its end\n", p);
	free(p);
}
