//@ LAB 2 FILE
/*
 * Host unit tests of the buddy allocator (src/mm/buddy.c), with Check.
 *
 * Besides the directed tests, a long random sequence runs against a simple
 * reference model: one owner word per unit (FREE, RESERVED or the id of the
 * allocation holding it). After every step the allocator's free blocks, as
 * buddy_for_each_free reports them, are checked against the model and
 * against the buddy invariants (see check_state).
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/buddy.h"

/* Check's ck_assert* records a mark point (a write to a pipe) even when the
 * assertion holds, which is far too slow for checks done after each of
 * 200,000 steps; CHECK only reports failures. */
#define CHECK(cond, ...)                                \
	do {                                            \
		if (!(cond))                            \
			ck_abort_msg(__VA_ARGS__);      \
	} while (0)
#define CHECK_EQ(a, b)                                                  \
	CHECK((a) == (b), "%s == %s: %zu != %zu", #a, #b, (size_t)(a), (size_t)(b))

/* ---- fixture: an allocator and a reference model -------------------------- */

enum { FREE = 0, RESERVED = 1 };	/* owner values; allocations are >= 2 */

struct blk {
	unsigned order;
	size_t start;
};

struct live {
	size_t start, count;
	uint32_t id;
};

struct world {
	size_t n;
	void *meta;
	struct buddy *b;
	uint32_t *owner;	/* per unit */
	size_t model_free;
	struct blk *blocks;	/* last buddy_for_each_free listing */
	size_t nblocks;
	struct live *live;	/* live allocations */
	size_t nlive;
	uint32_t next_id;
};

static struct world *world_new(size_t n)
{
	struct world *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	w->n = n;
	w->meta = malloc(buddy_meta_size(n));
	w->owner = calloc(n, sizeof(*w->owner));
	w->blocks = malloc((n + 1) * sizeof(*w->blocks));
	w->live = malloc((n + 1) * sizeof(*w->live));
	ck_assert(w->meta && w->owner && w->blocks && w->live);
	/* garbage in the metadata must not matter */
	memset(w->meta, 0xa5, buddy_meta_size(n));
	w->b = buddy_init(w->meta, n);
	ck_assert_ptr_nonnull(w->b);
	w->model_free = n;
	w->next_id = 2;
	return w;
}

static void world_free(struct world *w)
{
	free(w->meta);
	free(w->owner);
	free(w->blocks);
	free(w->live);
	free(w);
}

static void collect_cb(void *arg, unsigned order, size_t start)
{
	struct world *w = arg;

	CHECK(w->nblocks < w->n + 1, "too many free blocks");
	w->blocks[w->nblocks++] = (struct blk){ order, start };
}

static void collect(struct world *w)
{
	w->nblocks = 0;
	buddy_for_each_free(w->b, collect_cb, w);
}

/*
 * Checks the allocator against the model and its own invariants:
 *  - free blocks come by ascending start, are aligned to their order, lie
 *    inside [0, n), and do not overlap;
 *  - every unit of a free block is free in the model (so no free block
 *    overlaps an allocation or a reserved range), and the free blocks cover
 *    as many units as the model has free, so they cover exactly the free
 *    units; buddy_free_units agrees;
 *  - no two free blocks of the same order are buddies (below the top order);
 *  - buddy_free_blocks(k) is the number of listed blocks of order k.
 */
static void check_state(struct world *w, long step)
{
	size_t per_order[BUDDY_MAX_ORDER] = { 0 };
	unsigned orders = buddy_orders(w->b);
	size_t sum = 0, end = 0;

	collect(w);
	for (size_t i = 0; i < w->nblocks; i++) {
		struct blk *k = &w->blocks[i];
		size_t size = (size_t)1 << k->order;

		CHECK(k->order < orders, "step %ld: order %u", step, k->order);
		CHECK(k->start % size == 0, "step %ld: block %zu of order %u unaligned",
			      step, k->start, k->order);
		CHECK(k->start >= end, "step %ld: block %zu overlaps or out of order",
			      step, k->start);
		CHECK(k->start + size <= w->n, "step %ld: block %zu past n", step, k->start);
		for (size_t u = k->start; u < k->start + size; u++)
			CHECK(w->owner[u] == FREE, "step %ld: free block %zu/%u holds unit %zu owned by %u",
				      step, k->start, k->order, u, w->owner[u]);
		if (i > 0) {
			struct blk *p = &w->blocks[i - 1];
			CHECK(!(p->order == k->order && k->order + 1 < orders &&
					(p->start ^ size) == k->start),
				      "step %ld: buddies %zu and %zu of order %u not merged",
				      step, p->start, k->start, k->order);
		}
		end = k->start + size;
		sum += size;
		per_order[k->order]++;
	}
	CHECK(sum == w->model_free, "step %ld: free blocks cover %zu units, model has %zu free",
		      step, sum, w->model_free);
	CHECK(buddy_free_units(w->b) == w->model_free, "step %ld: buddy_free_units %zu != %zu",
		      step, buddy_free_units(w->b), w->model_free);
	for (unsigned o = 0; o < BUDDY_MAX_ORDER; o++)
		CHECK(buddy_free_blocks(w->b, o) == per_order[o],
			      "step %ld: buddy_free_blocks(%u) = %zu, listed %zu",
			      step, o, buddy_free_blocks(w->b, o), per_order[o]);
}

static unsigned ceil_log2(size_t x)
{
	unsigned k = 0;

	while (((size_t)1 << k) < x)
		k++;
	return k;
}

static unsigned floor_log2(size_t x)
{
	unsigned k = 0;

	while (x >>= 1)
		k++;
	return k;
}

/* The order the contract says buddy_alloc(min, max) takes, from the last
 * listing; -1 if it must fail. */
static int expected_order(struct world *w, size_t min, size_t max)
{
	size_t cnt[BUDDY_MAX_ORDER] = { 0 };
	unsigned orders = buddy_orders(w->b);
	unsigned need = ceil_log2(min), want = ceil_log2(max);

	for (size_t i = 0; i < w->nblocks; i++)
		cnt[w->blocks[i].order]++;
	for (unsigned k = want; k < orders; k++)
		if (cnt[k])
			return k;
	for (unsigned k = want < orders ? want : orders; k-- > need;)
		if (cnt[k])
			return k;
	return -1;
}

/* buddy_alloc, checked against the contract and recorded in the model.
 * Needs an up-to-date listing (check_state). Returns the count. */
static size_t model_alloc(struct world *w, size_t min, size_t max, long step)
{
	size_t start = (size_t)-7, got;
	int k = expected_order(w, min, max);

	got = buddy_alloc(w->b, min, max, &start);
	if (k < 0) {
		CHECK(got == 0, "step %ld: alloc(%zu, %zu) = %zu, expected failure",
			      step, min, max, got);
		CHECK_EQ(start, (size_t)-7);
		return 0;
	}
	size_t size = (size_t)1 << k, lowest = (size_t)-1;
	for (size_t i = 0; i < w->nblocks; i++)
		if (w->blocks[i].order == (unsigned)k && w->blocks[i].start < lowest)
			lowest = w->blocks[i].start;
	CHECK(got == (max < size ? max : size), "step %ld: alloc(%zu, %zu) = %zu, expected %zu",
		      step, min, max, got, max < size ? max : size);
	CHECK(start == lowest, "step %ld: alloc(%zu, %zu) at %zu, expected the block at %zu",
		      step, min, max, start, lowest);
	CHECK(got >= min && got <= max, "step %ld: count out of [min, max]", step);
	for (size_t u = start; u < start + got; u++) {
		CHECK(w->owner[u] == FREE, "step %ld: alloc gave unit %zu owned by %u",
			      step, u, w->owner[u]);
		w->owner[u] = w->next_id;
	}
	w->live[w->nlive++] = (struct live){ start, got, w->next_id++ };
	w->model_free -= got;
	return got;
}

static void model_free_live(struct world *w, size_t i, long step)
{
	struct live a = w->live[i];
	int err = buddy_free(w->b, a.start, a.count);

	CHECK(err == BUDDY_OK, "step %ld: free(%zu, %zu) = %s", step, a.start, a.count,
		      buddy_strerror(err));
	for (size_t u = a.start; u < a.start + a.count; u++)
		w->owner[u] = FREE;
	w->model_free += a.count;
	w->live[i] = w->live[--w->nlive];
}

static void model_reserve(struct world *w, size_t start, size_t count)
{
	CHECK_EQ(buddy_reserve(w->b, start, count), BUDDY_OK);
	for (size_t u = start; u < start + count; u++) {
		CHECK_EQ(w->owner[u], FREE);
		w->owner[u] = RESERVED;
	}
	w->model_free -= count;
}

/* A misuse must return err and leave the free blocks exactly as they were. */
static void expect_free_error(struct world *w, size_t start, size_t count, int err, long step)
{
	size_t before_units = buddy_free_units(w->b), before_n;
	struct blk *before;
	int got;

	collect(w);
	before_n = w->nblocks;
	before = malloc((before_n + 1) * sizeof(*before));
	memcpy(before, w->blocks, before_n * sizeof(*before));
	got = buddy_free(w->b, start, count);
	CHECK(got == err, "step %ld: free(%zu, %zu) = %d (%s), expected %d (%s)", step,
		      start, count, got, buddy_strerror(got), err, buddy_strerror(err));
	CHECK_EQ(buddy_free_units(w->b), before_units);
	collect(w);
	CHECK_EQ(w->nblocks, before_n);
	CHECK(memcmp(before, w->blocks, before_n * sizeof(*before)) == 0,
	      "step %ld: free blocks changed by a failed free", step);
	free(before);
}

/* The greedy decomposition of [from, to) into aligned blocks, capped at the
 * top order, appended to out. */
static size_t greedy(struct blk *out, size_t nout, size_t from, size_t to, unsigned orders)
{
	while (from < to) {
		unsigned k = floor_log2(to - from);
		while (k > 0 && from % ((size_t)1 << k))
			k--;
		if (k > orders - 1)
			k = orders - 1;
		out[nout++] = (struct blk){ k, from };
		from += (size_t)1 << k;
	}
	return nout;
}

/* The free blocks are exactly the greedy decomposition of every maximal run
 * of units that the model says are free. */
static void check_maximal(struct world *w)
{
	struct blk *want = malloc((w->n + 1) * sizeof(*want));
	size_t nwant = 0;

	for (size_t u = 0; u < w->n;) {
		size_t v = u;
		while (v < w->n && w->owner[v] == FREE)
			v++;
		nwant = greedy(want, nwant, u, v, buddy_orders(w->b));
		u = v + (v < w->n);
	}
	collect(w);
	ck_assert_uint_eq(w->nblocks, nwant);
	for (size_t i = 0; i < nwant; i++) {
		CHECK(w->blocks[i].start == want[i].start && w->blocks[i].order == want[i].order,
			      "block %zu: %zu/%u, expected %zu/%u", i, w->blocks[i].start,
			      w->blocks[i].order, want[i].start, want[i].order);
	}
	free(want);
}

/* ---- directed tests ------------------------------------------------------- */

START_TEST(test_strerror)
{
	ck_assert_str_eq(buddy_strerror(BUDDY_EDOUBLE), "double free");
	ck_assert_str_eq(buddy_strerror(BUDDY_ENOTSTART), "not the start of an allocated block");
	ck_assert_str_eq(buddy_strerror(BUDDY_ESIZE), "wrong size");
	ck_assert_str_eq(buddy_strerror(BUDDY_ERANGE), "out of range");
	ck_assert_str_eq(buddy_strerror(BUDDY_EBUSY), "range not free");
	ck_assert_ptr_nonnull(buddy_strerror(BUDDY_OK));
	ck_assert_ptr_nonnull(buddy_strerror(12345));
}
END_TEST

START_TEST(test_meta_budget)
{
	ck_assert_uint_le(buddy_meta_size(1u << 20), 2u << 20);
	ck_assert_uint_le(buddy_meta_size(1u << 18), 1u << 19);
	ck_assert_uint_ge(buddy_meta_size(1), 1);
	ck_assert_ptr_null(buddy_init(NULL, 10));
	/* 2^20 units work end to end */
	struct world *w = world_new(1u << 20);
	ck_assert_uint_eq(buddy_orders(w->b), 21);
	ck_assert_uint_eq(buddy_free_blocks(w->b, 20), 1);
	check_state(w, 0);
	ck_assert_uint_eq(model_alloc(w, 3, 3, 1), 3);
	check_state(w, 1);
	model_free_live(w, 0, 2);
	check_maximal(w);
	world_free(w);
}
END_TEST

/* Sizes that are not powers of two start as their greedy decomposition. */
static const size_t odd_sizes[] = { 1, 3, 1000, 12345 };

START_TEST(test_init_sizes)
{
	size_t n = odd_sizes[_i];
	struct world *w = world_new(n);

	ck_assert_uint_eq(buddy_units(w->b), n);
	ck_assert_uint_eq(buddy_orders(w->b), floor_log2(n) + 1);
	ck_assert_uint_eq(buddy_free_units(w->b), n);
	ck_assert_uint_eq(buddy_free_blocks(w->b, buddy_orders(w->b)), 0);
	check_state(w, 0);
	check_maximal(w);
	world_free(w);
}
END_TEST

START_TEST(test_init_1000_blocks)
{
	struct world *w = world_new(1000);
	static const struct blk want[] = { { 9, 0 }, { 8, 512 }, { 7, 768 }, { 6, 896 },
					   { 5, 960 }, { 3, 992 } };

	collect(w);
	ck_assert_uint_eq(w->nblocks, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_uint_eq(w->blocks[i].order, want[i].order);
		ck_assert_uint_eq(w->blocks[i].start, want[i].start);
	}
	world_free(w);
}
END_TEST

/* Every order: one block of 2^k, then as many as fit, then all freed. */
static const size_t order_sizes[] = { 4096, 12345 };

START_TEST(test_every_order)
{
	size_t n = order_sizes[_i];
	struct world *w = world_new(n);
	long step = 0;

	check_state(w, step);
	for (unsigned k = 0; ((size_t)1 << k) <= n; k++) {
		size_t size = (size_t)1 << k, got;

		ck_assert_uint_eq(model_alloc(w, size, size, ++step), size);
		ck_assert_uint_eq(w->live[0].start % size, 0);
		check_state(w, step);
		model_free_live(w, 0, ++step);
		check_state(w, step);
		check_maximal(w);

		while ((got = model_alloc(w, size, size, ++step)) != 0) {
			ck_assert_uint_eq(got, size);
			check_state(w, step);
		}
		check_state(w, step);
		ck_assert_uint_eq(w->nlive, n / size);	/* the blocks of order k inside [0, n) */
		while (w->nlive > 0) {
			model_free_live(w, (w->nlive * 7) % w->nlive, ++step);
			check_state(w, step);
		}
		check_maximal(w);
	}
	world_free(w);
}
END_TEST

START_TEST(test_tail_given_back)
{
	struct world *w = world_new(16);
	size_t start;

	ck_assert_uint_eq(buddy_alloc(w->b, 5, 5, &start), 5);
	ck_assert_uint_eq(start, 0);
	collect(w);
	ck_assert_uint_eq(w->nblocks, 3);	/* 5/0, 6/1, 8/3 */
	ck_assert(w->blocks[0].start == 5 && w->blocks[0].order == 0);
	ck_assert(w->blocks[1].start == 6 && w->blocks[1].order == 1);
	ck_assert(w->blocks[2].start == 8 && w->blocks[2].order == 3);
	ck_assert_uint_eq(buddy_free_units(w->b), 11);
	ck_assert_int_eq(buddy_free(w->b, 0, 5), BUDDY_OK);
	collect(w);
	ck_assert(w->nblocks == 1 && w->blocks[0].order == 4);
	world_free(w);
}
END_TEST

START_TEST(test_min_max_choice)
{
	struct world *w = world_new(16);

	check_state(w, 0);
	ck_assert_uint_eq(model_alloc(w, 8, 8, 1), 8);		/* [0, 8) */
	check_state(w, 1);
	ck_assert_uint_eq(model_alloc(w, 4, 4, 2), 4);		/* [8, 12) */
	check_state(w, 2);
	/* nothing of order 4; the largest block of >= 3 units is [12, 16) */
	ck_assert_uint_eq(model_alloc(w, 3, 16, 3), 4);
	ck_assert_uint_eq(w->live[2].start, 12);
	check_state(w, 3);
	ck_assert_uint_eq(model_alloc(w, 1, 1, 4), 0);
	model_free_live(w, 1, 5);				/* [8, 12) free */
	check_state(w, 5);
	ck_assert_uint_eq(model_alloc(w, 5, 16, 6), 0);		/* needs order 3 */
	check_state(w, 6);
	/* max not a power of two, smallest fitting block preferred: 3 of [8, 12) */
	ck_assert_uint_eq(model_alloc(w, 1, 3, 7), 3);
	ck_assert_uint_eq(w->live[w->nlive - 1].start, 8);
	check_state(w, 7);
	while (w->nlive)
		model_free_live(w, 0, 8);
	check_maximal(w);

	/* max beyond n: takes the biggest block there is */
	struct world *v = world_new(10);
	check_state(v, 0);
	ck_assert_uint_eq(model_alloc(v, 1, 100, 1), 8);
	check_state(v, 1);
	ck_assert_uint_eq(model_alloc(v, 1, 100, 2), 2);
	ck_assert_uint_eq(v->live[1].start, 8);
	check_state(v, 2);
	world_free(v);
	world_free(w);
}
END_TEST

START_TEST(test_alloc_bad_args)
{
	struct world *w = world_new(64);
	size_t start = 99;

	ck_assert_uint_eq(buddy_alloc(w->b, 0, 4, &start), 0);
	ck_assert_uint_eq(buddy_alloc(w->b, 5, 4, &start), 0);
	ck_assert_uint_eq(buddy_alloc(w->b, 65, 65, &start), 0);
	ck_assert_uint_eq(buddy_alloc(w->b, 65, (size_t)-1, &start), 0);
	ck_assert_uint_eq(start, 99);
	ck_assert_uint_eq(buddy_alloc(w->b, 64, (size_t)-1, &start), 64);
	ck_assert_uint_eq(start, 0);
	ck_assert_uint_eq(buddy_free_units(w->b), 0);
	ck_assert_int_eq(buddy_free(w->b, 0, 64), BUDDY_OK);
	ck_assert_uint_eq(buddy_alloc(w->b, 1, (size_t)-1, &start), 64);
	world_free(w);
}
END_TEST

START_TEST(test_exhaustion)
{
	struct world *w = world_new(1000);
	long step = 0;

	check_state(w, step);
	while (model_alloc(w, 1, 1, ++step))
		check_state(w, step);
	ck_assert_uint_eq(w->nlive, 1000);
	ck_assert_uint_eq(buddy_free_units(w->b), 0);
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++)
		ck_assert_uint_eq(buddy_free_blocks(w->b, k), 0);
	while (w->nlive) {
		step++;
		model_free_live(w, (size_t)(step * 31) % w->nlive, step);
		check_state(w, step);
	}
	check_maximal(w);

	/* mixed sizes until nothing of 3 units is left */
	check_state(w, step);
	while (model_alloc(w, 3, 7, ++step))
		check_state(w, step);
	ck_assert_uint_lt(buddy_free_units(w->b), 1000);
	while (w->nlive) {
		model_free_live(w, w->nlive / 2, ++step);
		check_state(w, step);
	}
	check_maximal(w);
	world_free(w);
}
END_TEST

START_TEST(test_reserve)
{
	struct world *w = world_new(64);
	long step = 0;

	model_reserve(w, 13, 20);		/* [13, 33), unaligned, in the middle */
	check_state(w, step);
	check_maximal(w);
	ck_assert_uint_eq(buddy_free_units(w->b), 44);

	/* the range, or part of it, cannot be reserved again */
	ck_assert_int_eq(buddy_reserve(w->b, 13, 20), BUDDY_EBUSY);
	ck_assert_int_eq(buddy_reserve(w->b, 10, 4), BUDDY_EBUSY);
	ck_assert_int_eq(buddy_reserve(w->b, 32, 10), BUDDY_EBUSY);
	ck_assert_int_eq(buddy_reserve(w->b, 64, 1), BUDDY_ERANGE);
	ck_assert_int_eq(buddy_reserve(w->b, 60, 5), BUDDY_ERANGE);
	ck_assert_int_eq(buddy_reserve(w->b, 1, (size_t)-1), BUDDY_ERANGE);
	ck_assert_int_eq(buddy_reserve(w->b, 5, 0), BUDDY_OK);
	check_state(w, step);

	/* freeing reserved units is an error that changes nothing */
	expect_free_error(w, 13, 20, BUDDY_ENOTSTART, step);
	expect_free_error(w, 20, 1, BUDDY_ENOTSTART, step);

	/* everything else can be allocated, nothing reserved is handed out */
	while (model_alloc(w, 1, 1, ++step))
		check_state(w, step);
	ck_assert_uint_eq(w->nlive, 44);

	/* reserving allocated units fails and changes nothing */
	size_t before = buddy_free_units(w->b);
	ck_assert_int_eq(buddy_reserve(w->b, 0, 1), BUDDY_EBUSY);
	model_free_live(w, 0, ++step);
	ck_assert_int_eq(buddy_reserve(w->b, 0, 13), BUDDY_EBUSY);
	ck_assert_uint_eq(buddy_free_units(w->b), before + 1);
	check_state(w, step);
	while (w->nlive)
		model_free_live(w, 0, ++step);
	check_maximal(w);

	/* reserve after use: part of a free block whose neighbours are taken */
	ck_assert_uint_eq(model_alloc(w, 4, 4, ++step), 4);
	check_state(w, step);
	model_reserve(w, 5, 2);
	check_state(w, step);
	model_free_live(w, 0, ++step);
	check_state(w, step);
	check_maximal(w);
	world_free(w);
}
END_TEST

START_TEST(test_reserve_everything)
{
	struct world *w = world_new(12345);

	model_reserve(w, 0, 12345);
	check_state(w, 0);
	size_t start;
	ck_assert_uint_eq(buddy_alloc(w->b, 1, 1, &start), 0);
	expect_free_error(w, 0, 1, BUDDY_ENOTSTART, 0);
	world_free(w);
}
END_TEST

START_TEST(test_misuse)
{
	struct world *w = world_new(64);
	long step = 0;

	check_state(w, step);
	ck_assert_uint_eq(model_alloc(w, 5, 5, ++step), 5);	/* [0, 5) */
	check_state(w, step);
	ck_assert_uint_eq(model_alloc(w, 3, 3, ++step), 3);	/* [8, 11) */
	ck_assert_uint_eq(w->live[1].start, 8);
	check_state(w, step);

	expect_free_error(w, 1, 4, BUDDY_ENOTSTART, step);	/* inside */
	expect_free_error(w, 4, 1, BUDDY_ENOTSTART, step);	/* last unit */
	expect_free_error(w, 0, 4, BUDDY_ESIZE, step);		/* smaller */
	expect_free_error(w, 0, 1, BUDDY_ESIZE, step);
	expect_free_error(w, 0, 0, BUDDY_ESIZE, step);
	expect_free_error(w, 0, 6, BUDDY_ESIZE, step);		/* bigger, into free units */
	expect_free_error(w, 0, 11, BUDDY_ESIZE, step);		/* bigger, ends where the next ends */
	expect_free_error(w, 0, 64, BUDDY_ESIZE, step);
	expect_free_error(w, 8, 2, BUDDY_ESIZE, step);
	expect_free_error(w, 8, 4, BUDDY_ESIZE, step);
	expect_free_error(w, 64, 1, BUDDY_ERANGE, step);
	expect_free_error(w, 60, 5, BUDDY_ERANGE, step);
	expect_free_error(w, 0, 65, BUDDY_ERANGE, step);
	expect_free_error(w, (size_t)-1, 1, BUDDY_ERANGE, step);
	expect_free_error(w, 8, (size_t)-1, BUDDY_ERANGE, step);
	expect_free_error(w, 20, 1, BUDDY_EDOUBLE, step);	/* never allocated */
	expect_free_error(w, 5, 1, BUDDY_EDOUBLE, step);	/* the given-back tail */
	check_state(w, step);

	model_free_live(w, 0, ++step);
	check_state(w, step);
	expect_free_error(w, 0, 5, BUDDY_EDOUBLE, step);	/* double free */
	expect_free_error(w, 0, 1, BUDDY_EDOUBLE, step);
	model_free_live(w, 0, ++step);
	expect_free_error(w, 8, 3, BUDDY_EDOUBLE, step);
	check_maximal(w);
	world_free(w);
}
END_TEST

/* ---- long random sequence ------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* Mostly small sizes, sometimes large ones: 2^(0..9) scaled. */
static size_t rnd_size(void)
{
	size_t top = (size_t)1 << rnd_below(10);

	return 1 + rnd_below(top);
}

/* One misuse of a random kind; returns after checking it changed nothing. */
static void random_misuse(struct world *w, long step)
{
	if (w->nlive > 0 && rnd_below(2)) {
		struct live a = w->live[rnd_below(w->nlive)];

		switch (rnd_below(3)) {
		case 0:
			if (a.start + a.count < w->n)
				expect_free_error(w, a.start, a.count + 1 + rnd_below(w->n - a.start - a.count),
						  BUDDY_ESIZE, step);
			break;
		case 1:
			if (a.count > 1)
				expect_free_error(w, a.start, 1 + rnd_below(a.count - 1), BUDDY_ESIZE, step);
			break;
		default:
			if (a.count > 1)
				expect_free_error(w, a.start + 1 + rnd_below(a.count - 1), 1,
						  BUDDY_ENOTSTART, step);
			break;
		}
		return;
	}
	size_t u = rnd_below(w->n);
	if (w->owner[u] == FREE)
		expect_free_error(w, u, 1 + rnd_below(w->n - u), BUDDY_EDOUBLE, step);
	else if (w->owner[u] == RESERVED)
		expect_free_error(w, u, 1, BUDDY_ENOTSTART, step);
	else if (u > 0 && w->owner[u - 1] == w->owner[u])
		expect_free_error(w, u, 1, BUDDY_ENOTSTART, step);
	if (rnd_below(2))
		expect_free_error(w, w->n + rnd_below(10), 1, BUDDY_ERANGE, step);
}

/* Occasionally reserves a few more units: OK if the model says they are
 * free, EBUSY (and no change) otherwise. */
static void random_reserve(struct world *w, long step)
{
	size_t start = rnd_below(w->n), count = 1 + rnd_below(8);
	bool all_free = true;

	if (count > w->n - start)
		count = w->n - start;
	for (size_t u = start; u < start + count; u++)
		all_free &= w->owner[u] == FREE;
	if (all_free) {
		model_reserve(w, start, count);
	} else {
		size_t before = buddy_free_units(w->b);
		CHECK(buddy_reserve(w->b, start, count) == BUDDY_EBUSY,
			      "step %ld: reserve over used units", step);
		CHECK_EQ(buddy_free_units(w->b), before);
	}
}

static void random_run(size_t n, const size_t (*res)[2], int nres, long steps, uint64_t seed)
{
	struct world *w = world_new(n);
	int extra_reserves = 0;

	rng_state = seed;
	for (int i = 0; i < nres; i++)
		model_reserve(w, res[i][0], res[i][1]);
	check_state(w, 0);
	for (long step = 1; step <= steps; step++) {
		unsigned op = rnd_below(1000);

		if (op < 500 || w->nlive == 0) {
			size_t a = rnd_size(), b = rnd_below(4) ? a : rnd_size();
			model_alloc(w, a < b ? a : b, a < b ? b : a, step);
		} else if (op < 950) {
			model_free_live(w, rnd_below(w->nlive), step);
		} else if (op < 999 || extra_reserves >= 20) {
			random_misuse(w, step);
		} else {
			random_reserve(w, step);
			extra_reserves++;
		}
		check_state(w, step);
	}
	while (w->nlive) {
		model_free_live(w, rnd_below(w->nlive), steps);
		check_state(w, steps);
	}
	check_maximal(w);
	world_free(w);
}

START_TEST(test_random_long)
{
	static const size_t res[][2] = {
		{ 0, 3 }, { 777, 252 }, { 2500, 1 }, { 4093, 7 }, { 4990, 9 },
	};

	random_run(5000, res, 5, 200000, 0x5eed0fb0dd1e5ull);
}
END_TEST

START_TEST(test_random_pow2)
{
	random_run(1u << 13, NULL, 0, 30000, 0xb0dd1e5ull);
}
END_TEST

/* ---- runner --------------------------------------------------------------- */

static Suite *buddy_suite(void)
{
	Suite *s = suite_create("buddy");
	TCase *tc = tcase_create("core");
	TCase *tr = tcase_create("random");

	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_meta_budget);
	tcase_add_loop_test(tc, test_init_sizes, 0, sizeof(odd_sizes) / sizeof(odd_sizes[0]));
	tcase_add_test(tc, test_init_1000_blocks);
	tcase_add_loop_test(tc, test_every_order, 0, sizeof(order_sizes) / sizeof(order_sizes[0]));
	tcase_add_test(tc, test_tail_given_back);
	tcase_add_test(tc, test_min_max_choice);
	tcase_add_test(tc, test_alloc_bad_args);
	tcase_add_test(tc, test_exhaustion);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_reserve_everything);
	tcase_add_test(tc, test_misuse);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tcase_add_test(tr, test_random_long);
	tcase_add_test(tr, test_random_pow2);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buddy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
