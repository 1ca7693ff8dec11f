//@ LAB 6 FILE
/*
 * Unit tests of the kernel heap (src/mm/malloc.c) on the host, with
 * tests/host_pages.c as the page source. Each test runs in its own process
 * (CK_FORK), so each starts with an empty heap.
 */
#include <check.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The C library's malloc, for a pointer that is not ours. */
static void *libc_malloc(size_t n)
{
	return malloc(n);
}

static void libc_free(void *p)
{
	free(p);
}

#include "mm/malloc.h"	/* from here on, malloc & co. are strata_malloc & co. */

#define ARENA_PAGES	16	/* as in malloc.c */
#define HDR		MALLOC_CHUNK_OFFSET

#include "host_pages.h"

/* ---- heap walks ---------------------------------------------------------- */

struct wchunk {
	uintptr_t start;
	size_t size;
	int free;
};

#define MAX_WALK	(1 << 18)
static struct wchunk walked[MAX_WALK];
static size_t nwalked;

static void record(void *arg, void *start, size_t size, int is_free)
{
	(void)arg;
	REQUIRE(nwalked < MAX_WALK, "heap walk too long");
	walked[nwalked].start = (uintptr_t)start;
	walked[nwalked].size = size;
	walked[nwalked].free = is_free;
	nwalked++;
}

static void walk_heap(void)
{
	nwalked = 0;
	malloc_walk(record, NULL);
}

/* The walked chunk that starts at addr, or NULL. */
static struct wchunk *chunk_at(uintptr_t addr)
{
	size_t lo = 0, hi = nwalked;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (walked[mid].start == addr)
			return &walked[mid];
		if (walked[mid].start < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct wchunk *chunk_of(void *p)
{
	walk_heap();
	return chunk_at((uintptr_t)p - HDR);
}

static size_t count_used(void)
{
	size_t i, n = 0;

	walk_heap();
	for (i = 0; i < nwalked; i++)
		n += !walked[i].free;
	return n;
}

/*
 * The walk tiles the heap: chunks in address order, runs of touching chunks
 * are the arenas, each run lies in exactly one live page range and covers it
 * but for the arena header and fences; no two touching chunks are free.
 */
static void check_walk_covers_pages(void)
{
	size_t i, runs = 0, r;
	uintptr_t rs, re, start;
	size_t pages;

	walk_heap();
	for (i = 0; i < nwalked; i++) {
		REQUIRE(walked[i].size % 16 == 0 && walked[i].size >= 32,
			"chunk %#lx: size %zu", (unsigned long)walked[i].start, walked[i].size);
		if (i > 0 && walked[i - 1].start + walked[i - 1].size == walked[i].start) {
			REQUIRE(!(walked[i - 1].free && walked[i].free),
				"free chunks side by side at %#lx", (unsigned long)walked[i].start);
			continue;
		}
		if (i > 0)
			REQUIRE(walked[i].start > walked[i - 1].start + walked[i - 1].size,
				"chunks overlap at %#lx", (unsigned long)walked[i].start);
		/* A new run: find its page range and its end. */
		runs++;
		rs = walked[i].start;
		re = rs;
		for (size_t j = i; j < nwalked && walked[j].start == re; j++)
			re += walked[j].size;
		for (r = 0; host_pages_range(r, &start, &pages); r++)
			if (rs >= start && rs < start + pages * 4096)
				break;
		REQUIRE(r < host_pages_nranges(), "chunk %#lx in no page range", (unsigned long)rs);
		/* Only the arena header and front fence before, the end fence after. */
		REQUIRE(rs - start <= 128 && start + pages * 4096 - re == 8,
			"arena %#lx: chunks cover %#lx..%#lx", (unsigned long)start,
			(unsigned long)rs, (unsigned long)re);
	}
	REQUIRE(runs == host_pages_nranges(), "%zu arenas walked, %zu page ranges",
		runs, host_pages_nranges());
}

static void fill_pattern(unsigned char *p, size_t from, size_t to, uint32_t id)
{
	for (size_t j = from; j < to; j++)
		p[j] = (unsigned char)(id * 131 + j * 7 + (j >> 8));
}

static int pattern_ok(const unsigned char *p, size_t n, uint32_t id)
{
	for (size_t j = 0; j < n; j++)
		if (p[j] != (unsigned char)(id * 131 + j * 7 + (j >> 8)))
			return 0;
	return 1;
}

/* malloc that must not fail here. */
#define xmalloc(n)	xmalloc_at((n), __LINE__)

static void *xmalloc_at(size_t n, int line)
{
	void *p = malloc(n);

	if (p == NULL)
		ck_abort_msg("line %d: malloc(%zu) returned NULL", line, n);
	return p;
}

static size_t heap_pages(void)
{
	struct malloc_stats st;

	malloc_stats(&st);
	ck_assert_uint_eq(st.pages, host_pages_in_use());
	return st.pages;
}

/* ---- C semantics ---------------------------------------------------------- */

START_TEST(test_malloc_zero)
{
	void *p = malloc(0), *q = malloc(0);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(p, q);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_int_eq(malloc_check(), 0);
	free(p);
	free(q);
	ck_assert_uint_eq(count_used(), 0);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_free_null)
{
	free(NULL);
	ck_assert_uint_eq(host_pages_in_use(), 0);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_realloc_null)
{
	unsigned char *p = realloc(NULL, 300);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	memset(p, 0x33, 300);
	ck_assert_uint_eq(count_used(), 1);
	ck_assert_uint_ge(chunk_of(p)->size, 300 + 16);
	free(p);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_realloc_zero_frees)
{
	void *p = xmalloc(100), *keep = xmalloc(100);

	ck_assert_ptr_null(realloc(p, 0));
	ck_assert_uint_eq(count_used(), 1);
	ck_assert_int_eq(malloc_check(), 0);
	EXPECT_PANIC(free(p), "malloc: free(%p): double free", p);
	free(keep);
}
END_TEST

START_TEST(test_alignment)
{
	static void *ptrs[3000];
	size_t n;

	for (n = 0; n < 3000; n++) {
		ptrs[n] = malloc(n * 2);
		REQUIRE(ptrs[n] != NULL && (uintptr_t)ptrs[n] % 16 == 0, "malloc(%zu) = %p", n * 2, ptrs[n]);
		memset(ptrs[n], 0xee, n * 2);
	}
	ck_assert_int_eq(malloc_check(), 0);
	for (n = 0; n < 3000; n++)
		free(ptrs[n]);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* Every size up to 2100 bytes (all exact classes), then sizes through the
 * logarithmic classes, past the large-block threshold. */
START_TEST(test_every_size_class)
{
	static unsigned char *ptrs[4000];
	static size_t sizes[4000];
	size_t n = 0, i, s;

	for (s = 0; s <= 2100; s++)
		sizes[n++] = s;
	for (s = 2101; s < 70000; s += 61)
		sizes[n++] = s;
	for (i = 0; i < n; i++) {
		ptrs[i] = malloc(sizes[i]);
		REQUIRE(ptrs[i] != NULL && (uintptr_t)ptrs[i] % 16 == 0, "malloc(%zu) = %p", sizes[i], ptrs[i]);
		fill_pattern(ptrs[i], 0, sizes[i], (uint32_t)i);
	}
	walk_heap();
	for (i = 0; i < n; i++) {
		struct wchunk *w = chunk_at((uintptr_t)ptrs[i] - HDR);
		REQUIRE(w != NULL && !w->free && w->size >= sizes[i] + 16, "malloc(%zu)", sizes[i]);
		/* An arena chunk is split unless less than 32 bytes would be left. */
		REQUIRE(sizes[i] > 16000 || w->size < sizes[i] + 16 + 16 + 32,
			"malloc(%zu): chunk of %zu", sizes[i], w->size);
	}
	check_walk_covers_pages();
	/* Free every other block (the free lists get chunks of every class),
	 * allocate them again, then free everything. */
	for (i = 0; i < n; i += 2)
		free(ptrs[i]);
	ck_assert_int_eq(malloc_check(), 0);
	for (i = 0; i < n; i += 2) {
		ptrs[i] = malloc(sizes[i]);
		REQUIRE(ptrs[i] != NULL, "malloc(%zu)", sizes[i]);
		fill_pattern(ptrs[i], 0, sizes[i], (uint32_t)i);
	}
	ck_assert_int_eq(malloc_check(), 0);
	for (i = 0; i < n; i++) {
		REQUIRE(pattern_ok(ptrs[i], sizes[i], (uint32_t)i), "block %zu changed", i);
		free(ptrs[i]);
	}
	ck_assert_int_eq(malloc_check(), 0);
	ck_assert_uint_le(heap_pages(), ARENA_PAGES);
}
END_TEST

START_TEST(test_overflow)
{
	unsigned char *p;
	void *z;

	ck_assert_ptr_null(malloc((size_t)-1));
	ck_assert_ptr_null(malloc((size_t)-4096));
	ck_assert_ptr_null(malloc((size_t)-16));
	ck_assert_ptr_null(malloc(SIZE_MAX / 2 + 1));
	ck_assert_ptr_null(malloc(MALLOC_MAX + 1));
	ck_assert_ptr_null(calloc(SIZE_MAX / 2 + 1, 2));
	ck_assert_ptr_null(calloc(2, SIZE_MAX / 2 + 1));
	ck_assert_ptr_null(calloc((size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)));
	ck_assert_ptr_null(calloc(SIZE_MAX, SIZE_MAX));
	ck_assert_uint_eq(host_pages_in_use(), 0);

	z = calloc(SIZE_MAX, 0);	/* 0 bytes: a unique pointer */
	ck_assert_ptr_nonnull(z);
	free(z);

	p = xmalloc(100);
	fill_pattern(p, 0, 100, 7);
	ck_assert_ptr_null(realloc(p, (size_t)-1));
	ck_assert_ptr_null(realloc(p, (size_t)-4096));
	ck_assert(pattern_ok(p, 100, 7));
	free(p);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_calloc_zeroes)
{
	unsigned char *p, *q, *keep;
	size_t i;

	p = calloc(100, 10);	/* fresh pages are 0xa5 on the host */
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 1000; i++)
		REQUIRE(p[i] == 0, "calloc byte %zu", i);
	keep = xmalloc(10);
	memset(p, 0xff, 1000);
	free(p);
	q = calloc(1000, 1);	/* reuses the dirty chunk */
	ck_assert_ptr_eq(q, p);
	for (i = 0; i < 1000; i++)
		REQUIRE(q[i] == 0, "calloc byte %zu", i);
	free(q);
	p = calloc(1, 200000);	/* a large block */
	for (i = 0; i < 200000; i++)
		REQUIRE(p[i] == 0, "calloc byte %zu", i);
	free(p);
	free(keep);
}
END_TEST

/* ---- coalescing ------------------------------------------------------------- */

/* Four neighbours a b c d of 100 bytes (chunks of 128), then the rest of
 * the arena (free). */
static unsigned char *nb[4];

static void neighbours(void)
{
	for (int i = 0; i < 4; i++) {
		nb[i] = xmalloc(100);
		if (i > 0)
			ck_assert_ptr_eq(nb[i], nb[i - 1] + 128);
	}
}

START_TEST(test_coalesce_both_ways)
{
	struct wchunk *w;

	neighbours();
	free(nb[0]);
	free(nb[2]);
	ck_assert_uint_eq(chunk_of(nb[0])->size, 128);
	ck_assert_uint_eq(chunk_of(nb[2])->size, 128);
	free(nb[1]);		/* merges with a (before) and c (after) */
	w = chunk_of(nb[0]);
	ck_assert(w->free);
	ck_assert_uint_eq(w->size, 3 * 128);
	ck_assert(!w[1].free);
	ck_assert_ptr_eq((void *)w[1].start, nb[3] - HDR);
	ck_assert_ptr_null(chunk_at((uintptr_t)nb[1] - HDR));
	ck_assert_ptr_null(chunk_at((uintptr_t)nb[2] - HDR));
	ck_assert_int_eq(malloc_check(), 0);
	free(nb[3]);		/* everything merges into one chunk: the whole arena */
	walk_heap();
	ck_assert_uint_eq(nwalked, 1);
	ck_assert(walked[0].free);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_coalesce_forward)
{
	neighbours();
	free(nb[1]);
	free(nb[0]);		/* a takes b in */
	ck_assert(chunk_of(nb[0])->free);
	ck_assert_uint_eq(chunk_of(nb[0])->size, 256);
	free(nb[3]);		/* d merges with the free rest of the arena */
	ck_assert(chunk_of(nb[3])->free);
	ck_assert_uint_gt(chunk_of(nb[3])->size, 60000);
	ck_assert_int_eq(malloc_check(), 0);
	free(nb[2]);
}
END_TEST

START_TEST(test_coalesce_backward)
{
	neighbours();
	free(nb[0]);
	free(nb[1]);		/* b merges into a */
	ck_assert_uint_eq(chunk_of(nb[0])->size, 256);
	ck_assert_ptr_null(chunk_at((uintptr_t)nb[1] - HDR));
	/* The merged chunk is reused for a request of its size. */
	ck_assert_ptr_eq(malloc(256 - 16), nb[0]);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* ---- realloc ------------------------------------------------------------------- */

START_TEST(test_realloc_shrink_in_place)
{
	unsigned char *p = xmalloc(1000), *g = xmalloc(100), *q;

	fill_pattern(p, 0, 1000, 1);
	q = realloc(p, 200);
	ck_assert_ptr_eq(q, p);
	ck_assert(pattern_ok(q, 200, 1));
	ck_assert_uint_eq(chunk_of(p)->size, 224);
	ck_assert(chunk_of(p)[1].free);		/* the tail split off */
	ck_assert_uint_eq(chunk_of(p)[1].size, 1024 - 224);
	q = realloc(p, 190);			/* too little to split off */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(chunk_of(p)->size, 224);
	ck_assert(pattern_ok(q, 190, 1));
	ck_assert_int_eq(malloc_check(), 0);
	free(g);
	q = realloc(p, 100);			/* tail merges with the free rest */
	ck_assert_ptr_eq(q, p);
	walk_heap();
	ck_assert_uint_eq(nwalked, 2);
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
}
END_TEST

START_TEST(test_realloc_grow_in_place)
{
	unsigned char *p = xmalloc(200), *n = xmalloc(200), *g = xmalloc(100), *q;

	fill_pattern(p, 0, 200, 2);
	free(n);
	q = realloc(p, 300);			/* takes part of the free neighbour */
	ck_assert_ptr_eq(q, p);
	ck_assert(pattern_ok(q, 200, 2));
	ck_assert_uint_eq(chunk_of(p)->size, 320);
	ck_assert(chunk_of(p)[1].free);
	ck_assert_uint_eq(chunk_of(p)[1].size, 2 * 224 - 320);
	q = realloc(p, 2 * 224 - 16);		/* takes all of it */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(chunk_of(p)->size, 2 * 224);
	ck_assert_int_eq(malloc_check(), 0);
	fill_pattern(p, 0, 2 * 224 - 16, 3);
	free(g);
	q = realloc(p, 15000);			/* grows into the rest of the arena */
	ck_assert_ptr_eq(q, p);
	ck_assert(pattern_ok(q, 2 * 224 - 16, 3));
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
}
END_TEST

START_TEST(test_realloc_move)
{
	unsigned char *p = xmalloc(200), *n = xmalloc(200), *q;

	fill_pattern(p, 0, 200, 4);
	fill_pattern(n, 0, 200, 5);
	q = realloc(p, 1000);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_eq((uintptr_t)q % 16, 0);
	ck_assert(pattern_ok(q, 200, 4));
	ck_assert(pattern_ok(n, 200, 5));
	ck_assert(chunk_of(p)->free);		/* the old chunk was freed */
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
	free(n);
}
END_TEST

START_TEST(test_realloc_large)
{
	unsigned char *p = xmalloc(100000), *q;
	size_t pages = host_pages_in_use();

	ck_assert_uint_eq(pages, (100000 + 16 + 128 + 4095) / 4096);
	fill_pattern(p, 0, 100000, 6);
	q = realloc(p, 100100);			/* same number of pages: in place */
	ck_assert_ptr_eq(q, p);
	q = realloc(p, 300000);			/* a new region */
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(q, p);
	ck_assert(pattern_ok(q, 100000, 6));
	ck_assert_uint_eq(host_pages_in_use(), (300000 + 16 + 128 + 4095) / 4096);
	p = realloc(q, 2000);			/* back into an arena */
	ck_assert_ptr_nonnull(p);
	ck_assert(pattern_ok(p, 2000, 6));
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	q = realloc(p, 50000);			/* out of the arena again */
	ck_assert_ptr_nonnull(q);
	ck_assert(pattern_ok(q, 2000, 6));
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
	ck_assert_uint_le(host_pages_in_use(), ARENA_PAGES);
}
END_TEST

START_TEST(test_realloc_fails_keeps_block)
{
	unsigned char *p = xmalloc(100), *g = xmalloc(100);

	fill_pattern(p, 0, 100, 8);
	host_pages_set_limit(host_pages_in_use());
	ck_assert_ptr_null(realloc(p, 100000));	/* needs a new region: none left */
	ck_assert_ptr_null(realloc(p, 70000));
	ck_assert(pattern_ok(p, 100, 8));
	ck_assert_int_eq(malloc_check(), 0);
	free(p);
	free(g);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* ---- pages: out of memory, given back ------------------------------------------ */

START_TEST(test_out_of_memory)
{
	static void *ptrs[100000];
	size_t n = 0, i;

	host_pages_set_limit(8);		/* less than an arena */
	ck_assert_ptr_null(malloc(10));
	ck_assert_ptr_null(malloc(40000));
	ck_assert_uint_eq(host_pages_in_use(), 0);

	host_pages_set_limit(5 * ARENA_PAGES + 3);
	while ((ptrs[n] = malloc(1000)) != NULL)
		n++;
	ck_assert_uint_gt(n, 4 * 60);
	ck_assert_uint_le(host_pages_in_use(), 5 * ARENA_PAGES + 3);
	ck_assert_ptr_null(malloc(100000));
	ck_assert_ptr_null(calloc(1000, 1000));
	ck_assert_int_eq(malloc_check(), 0);
	for (i = 0; i < n; i++)
		free(ptrs[i]);
	ck_assert_int_eq(malloc_check(), 0);
	ck_assert_uint_eq(heap_pages(), ARENA_PAGES);	/* nothing leaked */
	ck_assert_uint_eq(count_used(), 0);
	host_pages_set_limit(0);
	ck_assert_ptr_nonnull(ptrs[0] = malloc(100000));
	free(ptrs[0]);
}
END_TEST

START_TEST(test_pages_given_back)
{
	static void *ptrs[3000];
	uint64_t x = 12345;
	size_t i;

	for (i = 0; i < 3000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		ptrs[i] = malloc(i % 50 == 0 ? 20000 + (x >> 40) % 50000 : 1 + (x >> 33) % 4000);
		REQUIRE(ptrs[i] != NULL, "malloc %zu", i);
	}
	ck_assert_uint_gt(host_pages_in_use(), 10 * ARENA_PAGES);
	check_walk_covers_pages();
	/* Free in a shuffled order. */
	for (i = 2999; i > 0; i--) {
		size_t j;
		void *t;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		j = (x >> 33) % (i + 1);
		t = ptrs[i];
		ptrs[i] = ptrs[j];
		ptrs[j] = t;
	}
	for (i = 0; i < 3000; i++) {
		free(ptrs[i]);
		if (i % 300 == 0)
			ck_assert_int_eq(malloc_check(), 0);
	}
	ck_assert_int_eq(malloc_check(), 0);
	ck_assert_uint_eq(heap_pages(), ARENA_PAGES);	/* one empty arena kept */
	ck_assert_uint_eq(host_pages_nranges(), 1);
	walk_heap();
	ck_assert_uint_eq(nwalked, 1);
	ck_assert(walked[0].free);
}
END_TEST

START_TEST(test_no_arena_thrashing)
{
	size_t calls = host_pages_calls();
	void *p;

	for (int i = 0; i < 1000; i++) {
		p = xmalloc(100);
		free(p);
	}
	ck_assert_uint_eq(host_pages_calls() - calls, 1);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
}
END_TEST

START_TEST(test_large_block_own_region)
{
	void *small = xmalloc(10);
	void *p = xmalloc(1 << 20);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_uint_eq(host_pages_nranges(), 2);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES + ((1 << 20) + 16 + 128 + 4095) / 4096);
	memset(p, 1, 1 << 20);
	check_walk_covers_pages();
	free(p);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	free(small);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_stats)
{
	struct malloc_stats st;
	void *a = xmalloc(100), *b = xmalloc(1000), *c = xmalloc(100);

	free(b);
	malloc_stats(&st);
	ck_assert_uint_eq(st.pages, ARENA_PAGES);
	ck_assert_uint_eq(st.chunks, 4);		/* a, b (free), c, the rest (free) */
	ck_assert_uint_eq(st.free_chunks, 2);
	ck_assert_uint_eq(st.used_bytes, 128 + 128);
	/* the rest is the arena header and fences */
	ck_assert_uint_lt(st.used_bytes + st.free_bytes, ARENA_PAGES * 4096);
	ck_assert_uint_ge(st.used_bytes + st.free_bytes, ARENA_PAGES * 4096 - 128);
	free(a);
	free(c);
}
END_TEST

/* ---- misuse ------------------------------------------------------------------------ */

START_TEST(test_double_free)
{
	void *p = xmalloc(100), *keep = xmalloc(100);

	free(p);
	EXPECT_PANIC(free(p), "malloc: free(%p): double free", p);
	(void)keep;
}
END_TEST

START_TEST(test_double_free_after_merge)
{
	neighbours();
	free(nb[0]);
	free(nb[1]);		/* b's chunk is now inside a's */
	EXPECT_PANIC(free(nb[1]), "malloc: free(%p): double free", nb[1]);
	EXPECT_PANIC(free(nb[0]), "malloc: free(%p): double free", nb[0]);
	free(nb[2]);		/* a+b+c merge: c is now inside too */
	EXPECT_PANIC(free(nb[2]), "malloc: free(%p): double free", nb[2]);
}
END_TEST

START_TEST(test_free_foreign_pointer)
{
	static char __attribute__((aligned(16))) buf[256];
	char __attribute__((aligned(16))) local[64];
	unsigned char *p = xmalloc(100);
	void *lp = libc_malloc(64);

	EXPECT_PANIC(free(buf + 32), "malloc: free(%p): not a malloc'd pointer", (void *)(buf + 32));
	EXPECT_PANIC(free(local), "malloc: free(%p): not a malloc'd pointer", (void *)local);
	EXPECT_PANIC(free(lp), "malloc: free(%p): not a malloc'd pointer", lp);
	EXPECT_PANIC(free((void *)16), "malloc: free(%p): not a malloc'd pointer", (void *)16);
	EXPECT_PANIC(free(p + 16), "malloc: free(%p): not a malloc'd pointer", p + 16);
	EXPECT_PANIC(free(p + 1), "malloc: free(%p): not a malloc'd pointer", p + 1);
	EXPECT_PANIC(free(p + 2000), "malloc: free(%p): double free", p + 2000); /* inside the free rest */
	EXPECT_PANIC(realloc(p + 48, 10), "malloc: realloc(%p): not a malloc'd pointer", p + 48);
	EXPECT_PANIC(realloc(lp, 10), "malloc: realloc(%p): not a malloc'd pointer", lp);
	libc_free(lp);
	free(p);		/* the failed calls changed nothing */
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_header_underrun)
{
	unsigned char *p = xmalloc(64), *q = xmalloc(64);

	p[-3] ^= 0x40;		/* an underrun of p's buffer hits its header */
	EXPECT_PANIC(free(p), "malloc: free(%p): corrupted chunk header", p);
	q[-8] = 0;		/* the size field */
	EXPECT_PANIC(realloc(q, 10), "malloc: realloc(%p): corrupted chunk header", q);
	EXPECT_PANIC(malloc_check(), "malloc: check: bad chunk header");
}
END_TEST

START_TEST(test_footer_overrun)
{
	unsigned char *p = xmalloc(24), *q = xmalloc(24);

	memset(p, 0, 24 + 8 + 1);	/* 32 bytes usable, then the footer */
	EXPECT_PANIC(free(p), "malloc: free(%p): corrupted chunk header", p);
	(void)q;
}
END_TEST

/* A chunk's tags copied elsewhere do not make a chunk there: the canary
 * depends on the address. */
START_TEST(test_forged_header)
{
	unsigned char *p = xmalloc(256), *q = xmalloc(64);
	unsigned char *fake = p + 48;

	memcpy(fake - HDR, q - HDR, 8);			/* q's header ... */
	memcpy(fake - HDR + 80 - 8, q - HDR + 80 - 8, 8);	/* ... and footer (chunk of 80) */
	EXPECT_PANIC(free(fake), "malloc: free(%p): not a malloc'd pointer", fake);
	free(q);
	free(p);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_realloc_freed)
{
	void *p = xmalloc(100), *keep = xmalloc(100);

	free(p);
	EXPECT_PANIC(realloc(p, 200), "malloc: realloc(%p): double free", p);
	(void)keep;
}
END_TEST

START_TEST(test_large_double_free)
{
	void *p = xmalloc(100000);

	free(p);		/* the region is gone: p is no pointer of ours */
	EXPECT_PANIC(free(p), "malloc: free(%p): not a malloc'd pointer (or one freed already, "
		     "whose memory went back to kvfree)", p);
}
END_TEST

START_TEST(test_check_finds_corruption)
{
	unsigned char *p = xmalloc(200), *g = xmalloc(10);

	free(p);			/* p's chunk is free, g keeps it from merging onwards */
	p[210] ^= 1;			/* a write into freed memory, over its footer */
	EXPECT_PANIC(malloc_check(), "malloc: check: ");
	(void)g;
}
END_TEST

/* ---- poison ------------------------------------------------------------------------- */

START_TEST(test_poison_fills)
{
	unsigned char *p, *g, *q;
	size_t i;

	malloc_poison = 1;
	p = xmalloc(500);
	g = xmalloc(10);
	memset(p, 0, 500);
	free(p);
	for (i = 2 * sizeof(void *); i < 512 - 8; i++)	/* after the list links */
		REQUIRE(p[i] == 0x6b, "byte %zu of the freed block is %#x", i, p[i]);
	ck_assert_int_eq(malloc_check(), 0);
	q = xmalloc(500);		/* checked, handed out again */
	ck_assert_ptr_eq(q, p);
	free(q);
	free(g);			/* merges: tags inside become poison too */
	ck_assert_int_eq(malloc_check(), 0);
	malloc_poison = 0;
}
END_TEST

START_TEST(test_poison_detects_write_after_free)
{
	unsigned char *p, *g;

	malloc_poison = 1;
	p = xmalloc(500);
	g = xmalloc(10);
	free(p);
	p[300] = 0;			/* use after free */
	EXPECT_PANIC(malloc_check(), "malloc: check: free chunk modified");
	EXPECT_PANIC(malloc(500), "modified after free");
	(void)g;
}
END_TEST

/* ---- random operations against a shadow ------------------------------------------- */

#define NSLOT	1024

struct live {
	unsigned char *p;
	size_t n;
	uint32_t id;
};

static struct live slots[NSLOT];
static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static size_t random_size(void)
{
	uint32_t r = rnd() % 1000;

	if (r < 4)
		return 16000 + rnd() % 120000;	/* around the threshold, and large */
	if (r < 100)
		return rnd() % 64;
	return 1 + rnd() % 2048;
}

static int by_addr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct live *)a)->p, y = (uintptr_t)((const struct live *)b)->p;

	return x < y ? -1 : x > y;
}

/* Everything the shadow knows against the heap. */
static void full_check(void)
{
	static struct live sorted[NSLOT];
	size_t i, n = 0, used = 0;

	ck_assert_int_eq(malloc_check(), 0);
	check_walk_covers_pages();
	for (i = 0; i < nwalked; i++)
		used += !walked[i].free;
	for (i = 0; i < NSLOT; i++) {
		struct wchunk *w;
		if (slots[i].p == NULL)
			continue;
		REQUIRE(pattern_ok(slots[i].p, slots[i].n, slots[i].id),
			"block %u (%zu bytes) changed", slots[i].id, slots[i].n);
		w = chunk_at((uintptr_t)slots[i].p - HDR);
		REQUIRE(w != NULL && !w->free && w->size >= slots[i].n + 16,
			"block %u (%zu bytes) is not an allocated chunk of the heap",
			slots[i].id, slots[i].n);
		sorted[n++] = slots[i];
	}
	REQUIRE(used == n, "%zu allocated chunks, %zu live blocks", used, n);
	qsort(sorted, n, sizeof(sorted[0]), by_addr);
	for (i = 1; i < n; i++)
		REQUIRE((uintptr_t)sorted[i - 1].p + sorted[i - 1].n <= (uintptr_t)sorted[i].p,
			"blocks %u and %u overlap", sorted[i - 1].id, sorted[i].id);
}

static void random_ops(long nops, unsigned check_every)
{
	uint32_t next_id = 1;
	long op;
	size_t i;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (op = 0; op < nops; op++) {
		struct live *s = &slots[rnd() % NSLOT];
		uint32_t r = rnd() % 100;
		size_t n = random_size();

		if (s->p == NULL) {
			s->id = next_id++;
			if (r < 10) {
				s->p = calloc(1, n);
				REQUIRE(s->p != NULL, "op %ld: calloc(1, %zu)", op, n);
				for (i = 0; i < n; i++)
					REQUIRE(s->p[i] == 0, "op %ld: calloc byte %zu", op, i);
			} else {
				s->p = malloc(n);
			}
			REQUIRE(s->p != NULL && (uintptr_t)s->p % 16 == 0, "op %ld: malloc(%zu) = %p",
				op, n, s->p);
			s->n = n;
			fill_pattern(s->p, 0, n, s->id);
		} else if (r < 55) {
			REQUIRE(pattern_ok(s->p, s->n, s->id), "op %ld: block %u changed", op, s->id);
			free(s->p);
			s->p = NULL;
		} else {
			unsigned char *q;
			REQUIRE(pattern_ok(s->p, s->n, s->id), "op %ld: block %u changed", op, s->id);
			q = realloc(s->p, n);
			if (n == 0) {
				REQUIRE(q == NULL, "op %ld: realloc(p, 0) = %p", op, q);
				s->p = NULL;
				continue;
			}
			REQUIRE(q != NULL && (uintptr_t)q % 16 == 0, "op %ld: realloc(%p, %zu) = %p",
				op, s->p, n, q);
			REQUIRE(pattern_ok(q, n < s->n ? n : s->n, s->id),
				"op %ld: realloc lost the contents of block %u", op, s->id);
			if (n > s->n)
				fill_pattern(q, s->n, n, s->id);
			s->p = q;
			s->n = n;
		}
		if (op % check_every == 0)
			full_check();
	}
	full_check();
	for (i = 0; i < NSLOT; i++) {
		free(slots[i].p);
		slots[i].p = NULL;
	}
	ck_assert_int_eq(malloc_check(), 0);
	ck_assert_uint_eq(heap_pages(), ARENA_PAGES);
	ck_assert_uint_eq(count_used(), 0);
}

START_TEST(test_random_100k)
{
	random_ops(100000, 97);
}
END_TEST

START_TEST(test_random_poisoned)
{
	malloc_poison = 1;
	random_ops(20000, 101);
	malloc_poison = 0;
}
END_TEST

/* A panic nobody expected fails the test, with its message. */
static void unexpected_panic(const char *msg)
{
	ck_abort_msg("panic: %s", msg);
}

/* ---- main ------------------------------------------------------------------------------ */

static Suite *malloc_suite(void)
{
	Suite *s = suite_create("malloc");
	TCase *tc;

	tc = tcase_create("semantics");
	tcase_add_test(tc, test_malloc_zero);
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_realloc_null);
	tcase_add_test(tc, test_realloc_zero_frees);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_every_size_class);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_calloc_zeroes);
	suite_add_tcase(s, tc);

	tc = tcase_create("coalesce");
	tcase_add_test(tc, test_coalesce_both_ways);
	tcase_add_test(tc, test_coalesce_forward);
	tcase_add_test(tc, test_coalesce_backward);
	suite_add_tcase(s, tc);

	tc = tcase_create("realloc");
	tcase_add_test(tc, test_realloc_shrink_in_place);
	tcase_add_test(tc, test_realloc_grow_in_place);
	tcase_add_test(tc, test_realloc_move);
	tcase_add_test(tc, test_realloc_large);
	tcase_add_test(tc, test_realloc_fails_keeps_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("pages");
	tcase_add_test(tc, test_out_of_memory);
	tcase_add_test(tc, test_pages_given_back);
	tcase_add_test(tc, test_no_arena_thrashing);
	tcase_add_test(tc, test_large_block_own_region);
	tcase_add_test(tc, test_stats);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_add_test(tc, test_double_free);
	tcase_add_test(tc, test_double_free_after_merge);
	tcase_add_test(tc, test_free_foreign_pointer);
	tcase_add_test(tc, test_header_underrun);
	tcase_add_test(tc, test_footer_overrun);
	tcase_add_test(tc, test_forged_header);
	tcase_add_test(tc, test_realloc_freed);
	tcase_add_test(tc, test_large_double_free);
	tcase_add_test(tc, test_check_finds_corruption);
	suite_add_tcase(s, tc);

	tc = tcase_create("poison");
	tcase_add_test(tc, test_poison_fills);
	tcase_add_test(tc, test_poison_detects_write_after_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_100k);
	tcase_add_test(tc, test_random_poisoned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(malloc_suite());
	int failed;

	host_panic_hook = unexpected_panic;

	//@ LAB 8 BEGIN
	/* These are lab 6's tests: of the coalescing heap, without the caches
	 * lab 8 puts in front of it (tests/test_mcache.c tests those). */
	malloc_cache_enable(0);
	//@ LAB 8 END

	srunner_set_fork_status(sr, CK_FORK);	/* a fresh heap for every test */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
