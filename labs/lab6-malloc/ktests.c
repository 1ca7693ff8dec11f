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

struct census {
	int chunks, free_chunks, adjacent_free;
	uintptr_t last_end;
	int last_free;
};

static void census_chunk(void *arg, void *start, size_t size, int is_free)
{
	struct census *w = arg;

	w->chunks++;
	w->free_chunks += is_free;
	if (is_free && w->last_free && w->last_end == (uintptr_t)start)
		w->adjacent_free++;
	w->last_end = (uintptr_t)start + size;
	w->last_free = is_free;
}

static struct census heap_census(void)
{
	struct census w = { 0 };

	malloc_walk(census_chunk, &w);
	return w;
}

//@ LAB 8 BEGIN
/* These are lab 6's tests: of the coalescing heap, without the caches
 * lab 8 puts in front of it (labs/lab8-smp/mcachetests.c tests those). */
static void plain_heap(void)
{
	malloc_cache_enable(0);
}
//@ LAB 8 END
KTEST(malloc_semantics)
{
	void *z1 = malloc(0), *z2 = malloc(0);
	char *p;
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

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
	struct census before, after;
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	KEXPECT(a && b && c && guard);
	before = heap_census();
	free(a);
	free(c);
	KEXPECT_EQ(heap_census().free_chunks, before.free_chunks + 2);
	free(b);	/* joins a, b and c: both neighbours free */
	after = heap_census();
	KEXPECT_EQ(after.free_chunks, before.free_chunks + 1);
	KEXPECT_EQ(after.adjacent_free, 0);
	printk("malloc_coalesce: a, c, then b freed: one free chunk\n");
	free(guard);
	KEXPECT_EQ(heap_census().adjacent_free, 0);
	KEXPECT_EQ(malloc_check(), 0);
}

KTEST(malloc_realloc)
{
	char *p = malloc(64), *q, *block = malloc(64), *r;
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

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
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	stress(2000);		/* warm up: creates the kernel page tables it needs */
	ppstats(&before);
	kvirt = vpfree_count(NULL);
	malloc_stats(&ms);
	rng = 7;
	stress(20000);
	KEXPECT_EQ(malloc_check(), 0);
	KEXPECT_EQ(heap_census().adjacent_free, 0);
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
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	free(p);
	printk("malloc_double_free: freeing %p again\n", p);
	free(p);
}

KTEST(malloc_bad_pointer)
{
	static char not_heap[64];
	void *p = malloc(24);
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	KEXPECT(p != NULL);	/* the heap works; the pointer below is not from it */
	free(p);
	printk("malloc_bad_pointer: freeing %p\n", (void *)&not_heap[16]);
	free(&not_heap[16]);
}

KTEST(malloc_corrupt_header)
{
	char *p = malloc(32), *q = malloc(32);
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

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
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

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
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	KEXPECT(p != NULL && guard != NULL);
	memset(p, 0x41, 56);	/* 40 asked, 48 in the chunk: 8 more are the footer */
	printk("malloc_overrun: freeing %p after writing 16 bytes past its end\n", p);
	free(p);
}

/*
 * The chunks themselves: which chunk malloc takes, and the exact sizes of
 * chunks after a split, a shrink and a grow. chunk(n) is the chunk size of
 * an n-byte request: n plus header and footer (8 bytes each), rounded up to
 * 16, at least 32 (MIN_CHUNK).
 */
#define CHUNK(n)	((((n) + 16 + 15) & ~(size_t)15) < 32 ? 32 : (((n) + 16 + 15) & ~(size_t)15))

struct chunk_info {
	uintptr_t want;
	size_t size, next_size;
	int found, next_free, next_seen;
};

static void find_chunk(void *arg, void *start, size_t size, int is_free)
{
	struct chunk_info *ci = arg;

	if (ci->found && !ci->next_seen) {
		ci->next_seen = 1;
		ci->next_size = size;
		ci->next_free = is_free;
	}
	if ((uintptr_t)start + MALLOC_CHUNK_OFFSET == ci->want) {
		ci->found = 1;
		ci->size = size;
		(void)is_free;
	}
}

/* p's chunk size; the chunk after it in *next (0 if not free). */
static size_t chunk_of(void *p, size_t *next_free_size)
{
	struct chunk_info ci = { (uintptr_t)p, 0, 0, 0, 0, 0 };

	malloc_walk(find_chunk, &ci);
	KEXPECT(ci.found);
	if (next_free_size)
		*next_free_size = ci.next_seen && ci.next_free ? ci.next_size : 0;
	return ci.size;
}

KTEST(malloc_fit)
{
	void *a, *b, *g[8], *x, *y;
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	/* 1. A freed chunk of exactly the right size is reused: first fit
	 * looks in the request's own class first. */
	a = malloc(200);
	g[0] = malloc(16);
	free(a);
	b = malloc(200);
	if (b != a)
		ktest_fail("malloc(200) gave %p, not the free %u-byte chunk of a freed malloc(200) "
			   "at %p: find_fit looks in the request's own class first (exercise 1)",
			   b, CHUNK(200), a);
	printk("malloc_fit: a freed chunk of the right size is reused\n");

	/* 2. First fit within a class: chunks of 1200 and 1040 bytes share a
	 * class; the list is last-freed first; the first that fits is taken. */
	x = malloc(1200 - 16);
	g[1] = malloc(16);
	y = malloc(1040 - 16);
	g[2] = malloc(16);
	free(x);
	free(y);			/* list: y (1040), x (1200) */
	b = malloc(1040 - 16);
	if (b != y)
		ktest_fail("malloc(%u) with free chunks of 1040 (first on its list) and 1200 "
			   "bytes in its class gave %p, not the first that fits, %p (exercise 1: "
			   "first fit, not worst fit)", 1040 - 16, b, y);
	free(b);
	y = malloc(1040 - 16);		/* the same chunk again */
	free(y);
	x = malloc(1200 - 16);
	free(x);			/* list: x (1200), y (1040) */
	b = malloc(1040 - 16);
	if (b != x)
		ktest_fail("malloc(%u) with free chunks of 1200 (first on its list) and 1040 "
			   "bytes in its class gave %p, not the first that fits, %p (exercise 1: "
			   "first fit, not best fit)", 1040 - 16, b, x);
	if (chunk_of(b, 0) != 1040)
		ktest_fail("malloc(%u) from a 1200-byte chunk: chunk of %u bytes, expected 1040 "
			   "(the 160 bytes beyond are split off)", 1040 - 16, chunk_of(b, 0));
	printk("malloc_fit: first fit within a class\n");
	free(b);

	/* 3. Split when exactly MIN_CHUNK bytes would remain. */
	a = malloc(80);			/* a 96-byte chunk */
	g[3] = malloc(16);
	free(a);
	b = malloc(48);			/* needs 64: 32 bytes remain */
	size_t rest;
	if (b != a || chunk_of(b, &rest) != 64 || rest != 32)
		ktest_fail("malloc(48) from a free 96-byte chunk: %p with a chunk of %u bytes "
			   "and %u free bytes after it, expected %p, 64 and 32: split whenever "
			   "at least MIN_CHUNK (32) bytes remain (exercise 1)", b,
			   chunk_of(b, &rest), rest, a);
	printk("malloc_fit: split when exactly MIN_CHUNK bytes remain\n");
	free(b);
	for (int i = 0; i < 4; i++)
		free(g[i]);
	KEXPECT_EQ(malloc_check(), 0);
}

KTEST(malloc_resize)
{
	void *p, *q, *g, *r;
	size_t rest;
	//@ LAB 8 BEGIN
	plain_heap();
	//@ LAB 8 END

	/* Shrinking in place gives the tail back. */
	p = malloc(1000);		/* 1024-byte chunk */
	g = malloc(16);
	r = realloc(p, 100);		/* needs 128 */
	if (r != p)
		ktest_fail("realloc(%p, 100) moved the block to %p: shrinking is in place", p, r);
	if (chunk_of(p, &rest) != CHUNK(100) || rest != 1024 - CHUNK(100))
		ktest_fail("realloc(p, 100) of a 1024-byte chunk: chunk of %u bytes and %u free "
			   "after it, expected %u and %u (exercise 3: split off the tail and free it)",
			   chunk_of(p, &rest), rest, CHUNK(100), 1024 - CHUNK(100));
	printk("malloc_resize: shrinking gives the tail back\n");
	free(p);
	free(g);

	/* Growing into a free neighbour takes only what it needs. */
	p = malloc(100);		/* 128 */
	q = malloc(1000);		/* 1024 */
	g = malloc(16);
	free(q);
	r = realloc(p, 300);		/* needs 320 */
	if (r != p)
		ktest_fail("realloc(%p, 300) with 1024 free bytes after it moved to %p: grow "
			   "in place (exercise 3)", p, r);
	if (chunk_of(p, &rest) != CHUNK(300) || rest != 128 + 1024 - CHUNK(300))
		ktest_fail("realloc(p, 300) into a 1024-byte free neighbour: chunk of %u bytes "
			   "and %u free after it, expected %u and %u (exercise 3: take the "
			   "neighbour in, then split off what is beyond need)",
			   chunk_of(p, &rest), rest, CHUNK(300), 128 + 1024 - CHUNK(300));
	printk("malloc_resize: growing takes only what it needs from the neighbour\n");
	free(p);
	free(g);
	KEXPECT_EQ(malloc_check(), 0);
}
