//@ LAB 2 FILE
/*
 * fuzz_buddy: the buddy allocator (src/mm/buddy.c) against a model.
 *
 * The input picks the number of units, then a sequence of operations:
 * buddy_alloc with any min/max, buddy_free of a live allocation or of any
 * range, buddy_check, buddy_reserve. The model keeps each unit's state
 * (free, allocated, reserved) and the live allocations; every result is
 * checked against buddy.h's contract (which block buddy_alloc takes, which
 * error buddy_free gives, that a refused call changes nothing), and after
 * every operation all of buddy.h's invariants are checked: free blocks
 * aligned, inside [0, n), not overlapping, never two free buddies that
 * would merge, exactly the model's free units, the per-order counts and
 * buddy_free_units agreeing, every live allocation passing buddy_check.
 */
#include <string.h>

#include "fuzz.h"
#include "mm/buddy.h"

#define N_MAX	512
#define OPS_MAX	256

enum { FREE, USED, RESERVED };

static uint8_t state[N_MAX];
static struct alloc { size_t start, count; } allocs[N_MAX];
static int nallocs;
static struct block { unsigned order; size_t start; } blocks[N_MAX];
static int nblocks;
static uint8_t covered[N_MAX];
static int8_t block_at[N_MAX];	/* order + 1 of the free block starting here, or 0 */

static unsigned ceil_log2(size_t x)
{
	unsigned k = 0;

	while (((size_t)1 << k) < x)
		k++;
	return k;
}

static void collect(void *arg, unsigned order, size_t start)
{
	(void)arg;
	FUZZ_ASSERT(nblocks < N_MAX, "more free blocks than units");
	blocks[nblocks++] = (struct block){ order, start };
}

static void free_blocks(const struct buddy *b)
{
	nblocks = 0;
	buddy_for_each_free(b, collect, NULL);
}

static int is_free_block(unsigned order, size_t start)
{
	return block_at[start] == (int8_t)(order + 1);
}

static void check_all(const struct buddy *b, size_t n)
{
	size_t sum = 0, per_order[BUDDY_MAX_ORDER] = { 0 };
	unsigned orders = buddy_orders(b);

	free_blocks(b);
	memset(covered, 0, n);
	memset(block_at, 0, n);
	for (int i = 0; i < nblocks; i++)
		if (blocks[i].start < n)
			block_at[blocks[i].start] = (int8_t)(blocks[i].order + 1);
	for (int i = 0; i < nblocks; i++) {
		unsigned k = blocks[i].order;
		size_t s = blocks[i].start, size = (size_t)1 << k;

		FUZZ_ASSERT(k < orders, "free block of order %u, only %u orders", k, orders);
		FUZZ_ASSERT(s % size == 0 && s + size <= n, "free block %zu of order %u misplaced", s, k);
		for (size_t u = s; u < s + size; u++) {
			FUZZ_ASSERT(!covered[u], "unit %zu in two free blocks", u);
			covered[u] = 1;
		}
		size_t lo = s & ~((size << 1) - 1);
		if (k + 1 < orders && lo + (size << 1) <= n)
			FUZZ_ASSERT(!is_free_block(k, s ^ size), "free buddies %zu and %zu of order %u",
				    s, s ^ size, k);
		sum += size;
		per_order[k]++;
	}
	for (size_t u = 0; u < n; u++)
		FUZZ_ASSERT(covered[u] == (state[u] == FREE), "unit %zu: model %d, buddy %s", u,
			    state[u], covered[u] ? "free" : "not free");
	FUZZ_ASSERT(sum == buddy_free_units(b), "free units %zu, buddy_free_units %zu", sum,
		    buddy_free_units(b));
	for (unsigned k = 0; k < orders; k++)
		FUZZ_ASSERT(per_order[k] == buddy_free_blocks(b, k), "order %u: %zu blocks, says %zu",
			    k, per_order[k], buddy_free_blocks(b, k));
	for (int i = 0; i < nallocs; i++)
		FUZZ_ASSERT(buddy_check(b, allocs[i].start, allocs[i].count) == BUDDY_OK,
			    "live allocation %zu+%zu fails buddy_check", allocs[i].start, allocs[i].count);
}

/* The block buddy_alloc(min, max) must take (buddy.h), from the free
 * blocks as they were before: its order, or -1 for none. */
static int chosen_order(unsigned orders, size_t min, size_t max, size_t *start)
{
	int best = -1;
	unsigned want = ceil_log2(max), need = ceil_log2(min);

	for (int pass = 0; pass < 2 && best < 0; pass++)
		for (int i = 0; i < nblocks; i++) {
			unsigned k = blocks[i].order;
			int better;

			if (pass == 0)	/* the smallest of order >= ceil_log2(max) */
				better = k >= want && (best < 0 || k < (unsigned)best ||
						       (k == (unsigned)best && blocks[i].start < *start));
			else		/* else the largest of order >= ceil_log2(min) */
				better = k >= need && (best < 0 || k > (unsigned)best ||
						       (k == (unsigned)best && blocks[i].start < *start));
			if (better)
				best = (int)k, *start = blocks[i].start;
		}
	(void)orders;
	return best;
}

static void do_alloc(struct buddy *b, size_t n, size_t min, size_t max)
{
	size_t start = (size_t)-1, want_start = 0, got;
	int order;

	free_blocks(b);
	order = (min >= 1 && min <= max) ? chosen_order(buddy_orders(b), min, max, &want_start) : -1;
	got = buddy_alloc(b, min, max, &start);
	if (order < 0) {
		FUZZ_ASSERT(got == 0 && start == (size_t)-1, "alloc(%zu, %zu) gave %zu at %zu, "
			    "expected nothing", min, max, got, start);
		return;
	}
	size_t want = ((size_t)1 << order) < max ? ((size_t)1 << order) : max;
	FUZZ_ASSERT(got == want && start == want_start, "alloc(%zu, %zu) gave %zu at %zu, "
		    "expected %zu at %zu", min, max, got, start, want, want_start);
	for (size_t u = start; u < start + got; u++) {
		FUZZ_ASSERT(u < n && state[u] == FREE, "alloc handed out unit %zu", u);
		state[u] = USED;
	}
	allocs[nallocs++] = (struct alloc){ start, got };
}

static int find_alloc(size_t start)
{
	for (int i = 0; i < nallocs; i++)
		if (allocs[i].start == start)
			return i;
	return -1;
}

/* What buddy_free(start, count) must return (buddy.h); -1: any error. */
static int expected_free(size_t n, size_t start, size_t count)
{
	int i;

	if (start >= n || count > n - start)
		return BUDDY_ERANGE;
	if (count == 0)
		return -1;
	if (state[start] == FREE)
		return BUDDY_EDOUBLE;
	if ((i = find_alloc(start)) < 0)
		return BUDDY_ENOTSTART;
	return allocs[i].count == count ? BUDDY_OK : BUDDY_ESIZE;
}

static void snapshot(const struct buddy *b, struct block *copy, int *ncopy)
{
	free_blocks(b);
	memcpy(copy, blocks, sizeof(blocks[0]) * nblocks);
	*ncopy = nblocks;
}

static void do_free(struct buddy *b, size_t n, size_t start, size_t count, int only_check)
{
	static struct block before[N_MAX];
	int nbefore, want = expected_free(n, start, count), got, i;

	snapshot(b, before, &nbefore);
	got = only_check ? buddy_check(b, start, count) : buddy_free(b, start, count);
	if (want >= 0)
		FUZZ_ASSERT(got == want, "%s(%zu, %zu) = %d, expected %d",
			    only_check ? "check" : "free", start, count, got, want);
	else
		FUZZ_ASSERT(got != BUDDY_OK, "free(%zu, 0) accepted", start);
	if (got == BUDDY_OK && !only_check) {
		i = find_alloc(start);
		for (size_t u = start; u < start + count; u++)
			state[u] = FREE;
		allocs[i] = allocs[--nallocs];
		return;
	}
	free_blocks(b);	/* refused, or a check: nothing changed */
	FUZZ_ASSERT(nblocks == nbefore && !memcmp(blocks, before, sizeof(blocks[0]) * nblocks),
		    "a refused or checking call changed the free blocks");
}

static void do_reserve(struct buddy *b, size_t n, size_t start, size_t count)
{
	int want = BUDDY_OK, got;

	if (start >= n || count > n - start)
		want = BUDDY_ERANGE;
	else
		for (size_t u = start; u < start + count; u++)
			if (state[u] != FREE)
				want = BUDDY_EBUSY;
	got = buddy_reserve(b, start, count);
	FUZZ_ASSERT(got == want, "reserve(%zu, %zu) = %d, expected %d", start, count, got, want);
	if (got == BUDDY_OK)
		for (size_t u = start; u < start + count; u++)
			state[u] = RESERVED;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_buddy");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint32_t shape = take(&in, 2);	/* mostly small allocators, some large */
	size_t n = 1 + ((shape & 0xe000) == 0xe000 ? shape % N_MAX : shape % 80), a, c;
	void *meta = malloc(buddy_meta_size(n));	/* exact: ASan sees any overrun */
	struct buddy *b = buddy_init(meta, n);

	FUZZ_ASSERT(b != NULL, "buddy_init(%zu) failed", n);
	memset(state, FREE, n);
	nallocs = 0;
	check_all(b, n);
	for (int op = 0; op < OPS_MAX && !input_done(&in); op++) {
		switch (take(&in, 1) % 8) {
		case 0:	/* small requests */
			a = take(&in, 1) % 9;
			do_alloc(b, n, a, a + take(&in, 1) % 9);
			break;
		case 1:	/* any request */
			a = take(&in, 2) % (n + 2);
			do_alloc(b, n, a, a + take(&in, 2) % (n + 2));
			break;
		case 2: case 3:	/* free a live allocation */
			if (nallocs) {
				struct alloc *l = &allocs[take(&in, 1) % nallocs];
				do_free(b, n, l->start, l->count, 0);
			}
			break;
		case 4:	/* free anything */
			a = take(&in, 2) % (n + 2), c = take(&in, 2) % (n + 2);
			do_free(b, n, a, c, 0);
			break;
		case 5:	/* a live allocation's neighbourhood: off by a little */
			if (nallocs) {
				struct alloc *l = &allocs[take(&in, 1) % nallocs];
				do_free(b, n, l->start + take(&in, 1) % 3 - 1,
					l->count + take(&in, 1) % 3 - 1, take(&in, 1) & 1);
			}
			break;
		case 6:
			a = take(&in, 2) % (n + 2), c = take(&in, 2) % (n + 2);
			do_free(b, n, a, c, 1);
			break;
		case 7:
			a = take(&in, 2) % (n + 1);
			do_reserve(b, n, a, take(&in, 1) % 17);
			break;
		}
		fuzz_ops++;
		check_all(b, n);
	}
	free(meta);
	return 0;
}
