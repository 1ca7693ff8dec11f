//@ LAB 8 FILE
/*
 * Unit tests of the caches in front of the kernel heap (lab 8,
 * src/mm/malloc_cache.[ch]): the magazines and the parked arenas, with
 * tests/host_pages.c as the page source (the host build has one CPU, so
 * one set of magazines). Each test runs in its own process (CK_FORK), so
 * each starts with an empty heap, caches on.
 */
#include <check.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/malloc.h"	/* from here on, malloc & co. are strata_malloc & co. */

#define ARENA_PAGES	16	/* as in malloc_chunk.h */
#define MAG_MAX		16	/* as in malloc_cache.h */
#define MAG_BATCH	8
#define PARK_MAX	16

#include "host_pages.h"
#include <sys/mman.h>
#include "mm/malloc_arena.h"	/* the arena hash, for test_unlocked_lookup_skips_chains */

static void unexpected_panic(const char *msg)
{
	ck_abort_msg("unexpected panic: %s", msg);
}

static struct malloc_cache_stats cstats(void)
{
	struct malloc_cache_stats st;

	malloc_cache_stats(&st);
	return st;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	REQUIRE(p != NULL, "malloc(%zu) returned NULL", n);
	return p;
}

/* ---- the magazines --------------------------------------------------------- */

/*
 * free's lock-free lookup never follows a bucket's chain. Beyond the two
 * entries a bucket holds in place, arenas are chained through links inside
 * the arenas, and in the kernel another CPU may be unmapping one of them
 * while this CPU looks: here the chain's first arena is made unreadable
 * (mprotect) instead. The lookup of a chunk in an arena further down that
 * chain must answer "not here" without reading it (before the fix: SIGSEGV),
 * and free of that chunk, the heap's way, still works.
 */
START_TEST(test_unlocked_lookup_skips_chains)
{
	enum { N = 4000 };		/* 16000 bytes: 4 a 64 KiB arena, ~1000 arenas */
	static void *p[N];
	struct arena *a = NULL, *head = NULL;
	size_t i, found = N;

	for (i = 0; i < N; i++)
		p[i] = xmalloc(16000);
	for (i = 0; i < N && found == N; i++) {
		struct bucket *b = bucket_of((uintptr_t)p[i]);

		a = arena_lookup(p[i]);
		if (b->more != NULL && arena_in_place(b, (uintptr_t)p[i]) == NULL &&
		    b->more->ent.arena != a)
			found = i, head = b->more->ent.arena;
	}
	ck_assert_msg(found < N, "no chunk in an arena behind another on a chain");
	ck_assert_int_eq(mprotect(head, PAGE_SIZE, PROT_NONE), 0);
	ck_assert_ptr_null(arena_of_unlocked(p[found]));
	ck_assert_int_eq(mprotect(head, PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	ck_assert_ptr_eq(arena_lookup(p[found]), a);
	free(p[found]);			/* the heap's way: checked, then freed */
	ck_assert_int_eq(malloc_check(), 0);
	for (i = 0; i < N; i++)
		if (i != found)
			free(p[i]);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_free_then_malloc_reuses)
{
	void *p = xmalloc(100), *q;

	free(p);
	ck_assert_uint_eq(cstats().cached_chunks, 1);	/* (the first one grew the heap) */
	ck_assert_int_eq(malloc_check(), 0);
	q = xmalloc(100);
	ck_assert_ptr_eq(q, p);			/* the magazine is a LIFO */
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
}
END_TEST

START_TEST(test_cached_chunk_not_merged)
{
	struct malloc_stats st;
	void *a = xmalloc(100), *b = xmalloc(100), *c = xmalloc(100);

	free(b);
	malloc_stats(&st);
	/* b is cached: it counts as used for the heap and is merged with
	 * nothing; the heap has no free chunk of its size. */
	ck_assert_uint_eq(st.free_chunks, 1);	/* the arena's rest only */
	ck_assert_int_eq(malloc_check(), 0);
	free(a);
	free(c);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_double_free_cached)
{
	void *p = xmalloc(48);

	free(p);
	EXPECT_PANIC(free(p), "malloc: free(%p): double free", p);
}
END_TEST

START_TEST(test_realloc_of_cached)
{
	void *p = xmalloc(48);

	free(p);
	EXPECT_PANIC(realloc(p, 100), "malloc: realloc(%p): double free", p);
}
END_TEST

START_TEST(test_double_free_after_more_frees)
{
	void *p[10];
	int i;

	for (i = 0; i < 10; i++)
		p[i] = xmalloc(200);
	for (i = 0; i < 10; i++)
		free(p[i]);
	EXPECT_PANIC(free(p[3]), "malloc: free(%p): double free", p[3]);
}
END_TEST

/* With the caches on, free's fast path only says whether a pointer may be
 * cached: any other (bad, overrun, broken, freed, too big) goes the heap's
 * way and is named as lab 6's checks name it; nothing is cached. */
START_TEST(test_misuse_with_caches_on)
{
	static char __attribute__((aligned(16))) buf[256];
	unsigned char *p = xmalloc(100), *q = xmalloc(24), *r = xmalloc(64), *big = xmalloc(2000);
	unsigned char *keep = xmalloc(100);
	size_t cached = cstats().cached_chunks;

	EXPECT_PANIC(free(buf + 32), "malloc: free(%p): not a malloc'd pointer", (void *)(buf + 32));
	EXPECT_PANIC(free(p + 1), "malloc: free(%p): not a malloc'd pointer", p + 1);
	EXPECT_PANIC(free(p + 16), "malloc: free(%p): not a malloc'd pointer", p + 16);
	memset(q, 0, 24 + 8 + 1);	/* 32 bytes usable, then the footer */
	EXPECT_PANIC(free(q), "malloc: free(%p): corrupted chunk header (footer differs: "
		     "buffer overrun?)", q);
	r[-3] ^= 0x40;			/* an underrun hits the header */
	EXPECT_PANIC(free(r), "malloc: free(%p): corrupted chunk header", r);
	free(big);			/* too big to cache: into the heap */
	EXPECT_PANIC(free(big), "malloc: free(%p): double free", big);
	ck_assert_uint_eq(cstats().cached_chunks, cached);	/* none of them cached */
	free(p);
	ck_assert_uint_eq(cstats().cached_chunks, cached + 1);
	(void)keep;
}
END_TEST

/* A full magazine gives MAG_BATCH chunks back to the heap, which merges
 * them; the rest stay cached. */
START_TEST(test_full_magazine_flushes)
{
	void *p[MAG_MAX + 1];
	int i;

	for (i = 0; i <= MAG_MAX; i++)
		p[i] = xmalloc(300);
	for (i = 0; i <= MAG_MAX; i++)
		free(p[i]);
	ck_assert_uint_eq(cstats().flushes, 1);
	ck_assert_uint_le(cstats().cached_chunks, MAG_MAX);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_poison_cached)
{
	unsigned char *p;

	malloc_poison = 1;
	p = xmalloc(100);
	free(p);
	ck_assert_int_eq(malloc_check(), 0);
	p[40] = 1;			/* written after free, while cached */
	EXPECT_PANIC(malloc_check(), "modified after free");
	EXPECT_PANIC(malloc(100), "modified after free");
}
END_TEST

START_TEST(test_poison_clean_reuse)
{
	unsigned char *p, *q;

	malloc_poison = 1;
	p = xmalloc(100);
	memset(p, 0x11, 100);
	free(p);
	q = xmalloc(100);
	ck_assert_ptr_eq(q, p);
	for (int i = 16; i < 100; i++)		/* past the link word: poison */
		REQUIRE(q[i] == MALLOC_POISON_BYTE, "byte %d is %#x", i, q[i]);
	free(q);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* A write after free over a cached chunk's header: the next malloc of its
 * size finds it is not the cached chunk and says so. */
START_TEST(test_cached_header_overwritten)
{
	unsigned char *p = xmalloc(64), *q = xmalloc(64);

	free(q);
	free(p);			/* p on top */
	memset(p - 8, 0, 8);
	EXPECT_PANIC(malloc(64), "modified after free");
}
END_TEST

START_TEST(test_check_counts_magazines)
{
	unsigned char *p = xmalloc(64), *q = xmalloc(64);

	free(q);
	free(p);
	ck_assert_int_eq(malloc_check(), 0);
	/* Unlink q by hand (p's link word): the arena still has it F_CACHED. */
	*(void **)p = NULL;
	EXPECT_PANIC(malloc_check(), "malloc: check:");
}
END_TEST

/* ---- flushing with coalescing instead of growing ------------------------ */

START_TEST(test_flush_before_new_arena)
{
	void *p[64];
	int n = 0, i;

	/* Fill the one arena the limit allows with 1000-byte blocks. */
	host_pages_set_limit(ARENA_PAGES);
	while ((p[n] = malloc(1000)) != NULL)
		n++;
	ck_assert_int_ge(n, 40);
	host_pages_set_limit(0);
	/* Eight neighbours freed: cached, not merged. */
	for (i = 8; i < 16; i++)
		free(p[i]);
	ck_assert_uint_eq(cstats().cached_chunks, 8);
	/* 7000 bytes fit only in those eight merged: they are flushed rather
	 * than a new arena created. */
	void *big = xmalloc(7000);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	ck_assert_uint_eq(cstats().cached_chunks, 0);
	ck_assert_ptr_eq(big, p[8]);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* Before growing, the magazines go back one at a time, those whose chunks
 * fit first: what does not need to go back stays cached. The heap grows
 * only when every magazine is empty and the chunk still does not fit. */
START_TEST(test_flush_one_magazine_first)
{
	static void *p[400];
	int n = 0, big0, small0;
	void *q, *r;

	host_pages_set_limit(ARENA_PAGES);
	while ((p[n] = malloc(1000)) != NULL)
		n++;
	big0 = 0;
	small0 = n;
	while ((p[n] = malloc(200)) != NULL)
		n++;
	ck_assert_int_gt(n - small0, 0);
	ck_assert_uint_eq(cstats().cached_chunks, 0);	/* the last failures flushed all */
	free(p[big0]);		/* a 1024-byte chunk */
	free(p[small0]);	/* a 224-byte one */
	ck_assert_uint_eq(cstats().cached_chunks, 2);
	/* 500 bytes (a 528-byte chunk) fit only in the 1024-byte one: its
	 * magazine goes back, the 224-byte one's stays. */
	q = xmalloc(500);
	ck_assert_ptr_eq(q, p[big0]);
	ck_assert_uint_eq(cstats().cached_chunks, 1);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	ck_assert_int_eq(malloc_check(), 0);
	/* 2000 bytes fit nowhere: every magazine goes back, then the heap grows. */
	host_pages_set_limit(0);
	r = xmalloc(2000);
	ck_assert_uint_eq(cstats().cached_chunks, 0);
	ck_assert_uint_eq(host_pages_in_use(), 2 * ARENA_PAGES);
	ck_assert_int_eq(malloc_check(), 0);
	free(q);
	free(r);
	for (int i = 1; i < n; i++)
		if (i != small0)
			free(p[i]);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

/* ---- arena hysteresis ----------------------------------------------------- */

/* Alloc-all/free-all of 64-byte blocks: after the first round, no round
 * asks the page source for pages or gives any back. */
START_TEST(test_batch_rounds_keep_arenas)
{
	static void *p[8192];
	size_t calls = 0, pages = 0;

	for (int r = 0; r < 5; r++) {
		for (int i = 0; i < 8192; i++)
			p[i] = xmalloc(64);
		for (int i = 0; i < 8192; i++)
			free(p[i]);
		if (r == 0) {
			calls = host_pages_calls();
			pages = host_pages_in_use();
			ck_assert_uint_gt(pages, 5 * ARENA_PAGES);
		}
		REQUIRE(host_pages_calls() == calls, "round %d: %zu page source calls, %zu before",
			r, host_pages_calls(), calls);
		REQUIRE(host_pages_in_use() == pages, "round %d: %zu pages held, %zu before",
			r, host_pages_in_use(), pages);
		REQUIRE(malloc_check() == 0, "round %d", r);
	}
	ck_assert_uint_le(cstats().parked_pages, PARK_MAX * ARENA_PAGES);
	ck_assert_uint_gt(cstats().parked_pages, 0);
}
END_TEST

/* Without the caches (lab 6's heap) the same rounds thrash: the figure the
 * test above improves on. */
START_TEST(test_batch_rounds_thrash_without_cache)
{
	static void *p[8192];
	size_t calls = 0;

	malloc_cache_enable(0);
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < 8192; i++)
			p[i] = xmalloc(64);
		for (int i = 0; i < 8192; i++)
			free(p[i]);
		if (r == 0)
			calls = host_pages_calls();
	}
	ck_assert_uint_gt(host_pages_calls(), calls + 5);
}
END_TEST

/* Memory pressure: the page source cannot give a large block its pages
 * until the parked arenas and the magazines are given back. */
START_TEST(test_pressure_releases_caches)
{
	static void *p[4096];
	void *big;

	for (int i = 0; i < 4096; i++)
		p[i] = xmalloc(100);
	for (int i = 0; i < 4096; i++)
		free(p[i]);
	ck_assert_uint_gt(cstats().parked_pages, 0);
	host_pages_set_limit(host_pages_in_use());
	big = malloc(100000);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(cstats().parked_pages, 0);
	ck_assert_uint_eq(cstats().cached_chunks, 0);
	free(big);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_trim)
{
	static void *p[4096];
	struct malloc_stats st;
	size_t before;

	for (int i = 0; i < 4096; i++)
		p[i] = xmalloc(100);
	for (int i = 0; i < 4096; i++)
		free(p[i]);
	before = host_pages_in_use();
	ck_assert_uint_eq(malloc_trim(), before - ARENA_PAGES);
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);	/* lab 6 keeps one */
	malloc_stats(&st);
	ck_assert_uint_eq(st.pages, ARENA_PAGES);
	ck_assert_uint_eq(st.chunks, 1);
	ck_assert_int_eq(malloc_check(), 0);
}
END_TEST

START_TEST(test_disable_flushes)
{
	void *p = xmalloc(100);

	free(p);
	ck_assert_uint_gt(cstats().cached_chunks, 0);
	malloc_cache_enable(0);
	ck_assert_uint_eq(cstats().cached_chunks, 0);
	ck_assert_int_eq(malloc_check(), 0);
	p = xmalloc(100);
	free(p);
	ck_assert_uint_eq(cstats().cached_chunks, 0);
	EXPECT_PANIC(free(p), "double free");
}
END_TEST

/* ---- random mixes, checked ------------------------------------------------ */

static void random_mix(int poison)
{
	static unsigned char *p[2000];
	static size_t n[2000];
	uint64_t x = 99;

	malloc_poison = poison;
	for (long step = 0; step < 60000; step++) {
		unsigned i;
		size_t sz;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		i = (x >> 33) % 2000;
		sz = (x >> 45) % 8 == 0 ? 1 + (x >> 20) % 5000 : 1 + (x >> 20) % 600;
		if (p[i] != NULL) {
			REQUIRE(p[i][0] == (unsigned char)i && p[i][n[i] - 1] == (unsigned char)i,
				"step %ld: block %u changed", step, i);
			if ((x >> 40) % 4 == 0) {
				p[i] = realloc(p[i], sz);
				REQUIRE(p[i] != NULL, "realloc");
				n[i] = sz;
				p[i][0] = p[i][sz - 1] = (unsigned char)i;
				continue;
			}
			free(p[i]);
			p[i] = NULL;
			continue;
		}
		p[i] = xmalloc(sz);
		n[i] = sz;
		p[i][0] = p[i][sz - 1] = (unsigned char)i;
		if (step % 5000 == 0)
			REQUIRE(malloc_check() == 0, "step %ld", step);
	}
	for (int i = 0; i < 2000; i++)
		free(p[i]);
	ck_assert_int_eq(malloc_check(), 0);
	malloc_trim();
	ck_assert_uint_eq(host_pages_in_use(), ARENA_PAGES);
	ck_assert_int_eq(malloc_check(), 0);
}

START_TEST(test_random_mix)
{
	random_mix(0);
}
END_TEST

START_TEST(test_random_mix_poisoned)
{
	random_mix(1);
}
END_TEST

static Suite *mcache_suite(void)
{
	Suite *s = suite_create("mcache");
	TCase *tc;

	tc = tcase_create("magazines");
	tcase_add_test(tc, test_free_then_malloc_reuses);
	tcase_add_test(tc, test_cached_chunk_not_merged);
	tcase_add_test(tc, test_double_free_cached);
	tcase_add_test(tc, test_realloc_of_cached);
	tcase_add_test(tc, test_double_free_after_more_frees);
	tcase_add_test(tc, test_misuse_with_caches_on);
	tcase_add_test(tc, test_full_magazine_flushes);
	tcase_add_test(tc, test_poison_cached);
	tcase_add_test(tc, test_poison_clean_reuse);
	tcase_add_test(tc, test_cached_header_overwritten);
	tcase_add_test(tc, test_check_counts_magazines);
	tcase_add_test(tc, test_unlocked_lookup_skips_chains);
	suite_add_tcase(s, tc);

	tc = tcase_create("flush");
	tcase_add_test(tc, test_flush_before_new_arena);
	tcase_add_test(tc, test_flush_one_magazine_first);
	tcase_add_test(tc, test_pressure_releases_caches);
	tcase_add_test(tc, test_trim);
	tcase_add_test(tc, test_disable_flushes);
	suite_add_tcase(s, tc);

	tc = tcase_create("hysteresis");
	tcase_add_test(tc, test_batch_rounds_keep_arenas);
	tcase_add_test(tc, test_batch_rounds_thrash_without_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_mix);
	tcase_add_test(tc, test_random_mix_poisoned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mcache_suite());
	int failed;

	host_panic_hook = unexpected_panic;
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
