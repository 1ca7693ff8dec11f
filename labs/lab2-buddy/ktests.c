/*
 * Lab 2 in-kernel tests: ppalloc/ppfree on the machine's real memory map.
 * Without paging beyond the boot tables, the tests check addresses and
 * counts, not page contents.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "mm/buddy.h"
#include "mm/ppalloc.h"

#define MAX_ALLOCS	1024

struct alloc {
	uintptr_t start;
	size_t pages;
};

static struct alloc allocs[MAX_ALLOCS];
extern char kernel_end[];

/* Is any page of [start, start + pages) one that must never be handed out? */
static const char *reserved_reason(uintptr_t start, size_t pages)
{
	uint64_t s = start, e = start + (uint64_t)pages * PAGE_SIZE;

	if (s < PAGE_SIZE)
		return "page 0";
	if (s < TRAMPOLINE_PHYS + PAGE_SIZE && e > TRAMPOLINE_PHYS)
		return "the SMP trampoline page";
	if (s < V2P(kernel_end) && e > KERNEL_PHYS)
		return "the kernel image";
	/* buddy.c keeps its metadata right behind struct buddy. */
	uintptr_t meta = V2P((uintptr_t)ppalloc_buddy());
	if (s < meta + buddy_meta_size(buddy_units(ppalloc_buddy())) && e > meta)
		return "ppalloc's own metadata";
	for (int i = 0; i < bootinfo.n_structures; i++)
		if (s < bootinfo.structures[i].end && e > bootinfo.structures[i].start)
			return "a multiboot structure";
	for (int i = 0; i < bootinfo.n_modules; i++)
		if (s < bootinfo.modules[i].end && e > bootinfo.modules[i].start)
			return "a multiboot module";
	for (int i = 0; i < bootinfo.n_regions; i++) {
		const struct memregion *r = &bootinfo.regions[i];
		if (r->type != MEM_AVAILABLE && s < r->end && e > r->start) {
			/* A reserved region may overlap an available one. */
			int covered = 0;
			for (int j = 0; j < bootinfo.n_regions; j++) {
				const struct memregion *a = &bootinfo.regions[j];
				if (a->type == MEM_AVAILABLE && a->start <= s && a->end >= e)
					covered = 1;
			}
			if (!covered)
				return "memory the map does not call available";
		}
	}
	return 0;
}

static void check_free_block(void *arg, unsigned order, size_t start)
{
	const char *why = reserved_reason(start * PAGE_SIZE, (size_t)1 << order);

	(void)arg;
	if (why)
		ktest_fail("free block at page %u (order %u) covers %s", start, order, why);
}

//@ LAB 8 BEGIN
/* These are lab 2's tests: of the buddy, without the per-CPU page caches
 * lab 8 puts in front of it (ppalloc.c). */
static void plain_ppalloc(void)
{
	ppcache_enable(0);
}
//@ LAB 8 END
KTEST(ppalloc_boot)
{
	struct ppstats st;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	ppstats(&st);
	ppalloc_print();
	KEXPECT(st.free > 0);
	KEXPECT(st.free + st.reserved <= st.managed);
	buddy_for_each_free(ppalloc_buddy(), check_free_block, 0);
	printk("ppalloc_boot: no free block covers a reserved page\n");
	/* And the first pages handed out are free ones. */
	uintptr_t a;
	KEXPECT_EQ(ppalloc(1, 1, &a), 1);
	KEXPECT(reserved_reason(a, 1) == 0);
	ppfree(a, 1);
	ppstats(&st);
	KEXPECT(st.free > 0);
	printk("ppalloc_boot: ppalloc(1, 1) = 0x%08x, a free page\n", a);
}

/*
 * Exercise 2's result, checked right after the allocations and before
 * anything is freed, so that a wrong split is not blamed on the merge: no
 * free block may overlap a run just handed out. Runs are in units of the
 * buddy; the first free block that overlaps one is reported in hit.
 */
#define MAX_RUNS	4

struct runs {
	unsigned n;
	size_t start[MAX_RUNS], count[MAX_RUNS];
	int hit;		/* the run overlapped, or -1 */
	size_t hit_start;	/* the free block overlapping it */
	unsigned hit_order;
};

static void overlap_cb(void *arg, unsigned order, size_t start)
{
	struct runs *r = arg;
	size_t end = start + ((size_t)1 << order);

	for (unsigned i = 0; i < r->n && r->hit < 0; i++)
		if (start < r->start[i] + r->count[i] && end > r->start[i])
			r->hit = i, r->hit_start = start, r->hit_order = order;
}

/* The run a free block overlaps (its index), or -1. */
static int split_overlap(const struct buddy *b, struct runs *r)
{
	r->hit = -1;
	buddy_for_each_free(b, overlap_cb, r);
	return r->hit;
}

#define SPLIT_HINT	"exercise 2: the allocation keeps the start of the block it " \
			"splits; only halves after it go back on the free lists"

KTEST(ppalloc_minmax)
{
	uintptr_t a = 1, b, c, d, e;
	struct ppstats before, after;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	ppstats(&before);
	printk("ppalloc_minmax: ppalloc(0, 1) = %u\n", ppalloc(0, 1, &a));
	printk("ppalloc_minmax: ppalloc(2, 1) = %u\n", ppalloc(2, 1, &a));
	KEXPECT_EQ(a, 1);	/* untouched on failure */
	printk("ppalloc_minmax: ppalloc(1, 1) = %u\n", ppalloc(1, 1, &a));
	printk("ppalloc_minmax: ppalloc(3, 3) = %u\n", ppalloc(3, 3, &b));
	printk("ppalloc_minmax: ppalloc(5, 8) = %u\n", ppalloc(5, 8, &c));
	unsigned top = buddy_orders(ppalloc_buddy());
	while (top > 0 && buddy_free_blocks(ppalloc_buddy(), top - 1) == 0)
		top--;
	KEXPECT(top > 0);
	size_t big = ppalloc(1, 1 << 30, &d);
	KEXPECT_EQ(big, (size_t)1 << (top - 1));	/* nothing of 2^30: the largest block */
	printk("ppalloc_minmax: ppalloc(1, 2^30) = the largest free block\n");
	KEXPECT((a | b | c | d) % PAGE_SIZE == 0);
	KEXPECT(c % (8 * PAGE_SIZE) == 0);	/* a buddy block is aligned to its size */
	/* The four runs are disjoint. */
	KEXPECT(b + 3 * PAGE_SIZE <= a || a + PAGE_SIZE <= b);
	KEXPECT(c + 8 * PAGE_SIZE <= a || a + PAGE_SIZE <= c);
	KEXPECT(c + 8 * PAGE_SIZE <= b || b + 3 * PAGE_SIZE <= c);
	KEXPECT(d + big * PAGE_SIZE <= c || c + 8 * PAGE_SIZE <= d);
	struct runs r = { 4, { a / PAGE_SIZE, b / PAGE_SIZE, c / PAGE_SIZE, d / PAGE_SIZE },
			  { 1, 3, 8, big }, -1, 0, 0 };
	int i = split_overlap(ppalloc_buddy(), &r);
	if (i >= 0)
		ktest_fail("after ppalloc(1, 1), (3, 3), (5, 8), (1, 2^30): the allocation of %u "
			   "pages at 0x%08x overlaps the free block at 0x%08x (order %u) (%s)",
			   r.count[i], r.start[i] * PAGE_SIZE, r.hit_start * PAGE_SIZE,
			   r.hit_order, SPLIT_HINT);
	ppstats(&after);
	if (after.free != before.free - 1 - 3 - 8 - big)
		ktest_fail("after ppalloc(1, 1), (3, 3), (5, 8), (1, 2^30): %u pages free, "
			   "expected %u - 1 - 3 - 8 - %u = %u, %d lost (exercise 2 must "
			   "put every unused part of the block it splits back on a free list)",
			   after.free, before.free, big, before.free - 1 - 3 - 8 - big,
			   (int)(before.free - 1 - 3 - 8 - big - after.free));
	ppfree(d, big);
	/* Freed pages are handed out again: the 3 pages fit where they were. */
	ppfree(b, 3);
	KEXPECT_EQ(ppalloc(3, 3, &e), 3);
	KEXPECT_EQ(e, b);
	ppfree(e, 3);
	ppfree(c, 8);
	ppfree(a, 1);
	ppstats(&after);
	KEXPECT_EQ(after.free, before.free);
	printk("ppalloc_minmax: free pages back to %u\n", after.free);
}

static size_t blocks_at_start[BUDDY_MAX_ORDER];

KTEST(ppalloc_exhaust)
{
	struct ppstats before, st;
	size_t n = 0, total = 0;
	uintptr_t x = 7;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	ppstats(&before);
	for (unsigned o = 0; o < buddy_orders(ppalloc_buddy()); o++)
		blocks_at_start[o] = buddy_free_blocks(ppalloc_buddy(), o);
	while (n < MAX_ALLOCS && (allocs[n].pages = ppalloc(1, 1 << 30, &allocs[n].start))) {
		const char *why = reserved_reason(allocs[n].start, allocs[n].pages);
		if (why)
			ktest_fail("ppalloc handed out 0x%08x (%u pages): %s",
				   allocs[n].start, allocs[n].pages, why);
		total += allocs[n++].pages;
	}
	KEXPECT(n < MAX_ALLOCS);
	KEXPECT_EQ(ppalloc(1, 1, &x), 0);
	KEXPECT_EQ(x, 7);
	ppstats(&st);
	KEXPECT_EQ(st.free, 0);
	KEXPECT_EQ(total, before.free);
	printk("ppalloc_exhaust: %u KiB handed out, none of it reserved\n", total * 4);
	while (n--)
		ppfree(allocs[n].start, allocs[n].pages);
	ppstats(&st);
	KEXPECT_EQ(st.free, before.free);
	for (unsigned o = 0; o < buddy_orders(ppalloc_buddy()); o++)
		KEXPECT_EQ(buddy_free_blocks(ppalloc_buddy(), o), blocks_at_start[o]);
	printk("ppalloc_exhaust: all free again, free lists as at boot\n");
}

KTEST(ppfree_double)
{
	uintptr_t a;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	KEXPECT_EQ(ppalloc(1, 1, &a), 1);
	ppfree(a, 1);
	printk("ppfree_double: freeing 0x%08x again\n", a);
	ppfree(a, 1);
}

KTEST(ppfree_wrong_size)
{
	uintptr_t a;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	KEXPECT_EQ(ppalloc(4, 4, &a), 4);
	printk("ppfree_wrong_size: freeing 2 of 4 pages at 0x%08x\n", a);
	ppfree(a, 2);
}

KTEST(ppfree_not_start)
{
	uintptr_t a;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	KEXPECT_EQ(ppalloc(4, 4, &a), 4);
	printk("ppfree_not_start: freeing 0x%08x\n", a + PAGE_SIZE);
	ppfree(a + PAGE_SIZE, 1);
}

KTEST(ppfree_kernel)
{
	uintptr_t a;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	/* The allocator works; only the kernel's pages are not its to free. */
	KEXPECT_EQ(ppalloc(2, 2, &a), 2);
	ppfree(a, 2);
	printk("ppfree_kernel: freeing the kernel's first page\n");
	ppfree(KERNEL_PHYS, 1);
}

/*
 * The block chosen and what goes back, exactly. For each request the test
 * predicts from the free counts alone which order buddy_alloc must take
 * (exercise 1's two rules) and how the per-order counts change (exercise 2:
 * one upper half back per order below, down to the allocation's size), then
 * checks the counts after ppfree are those of before (exercise 3: every
 * piece merged back as far as it goes).
 */
#define NORD	BUDDY_MAX_ORDER

static void counts(size_t *n)
{
	for (unsigned k = 0; k < NORD; k++)
		n[k] = buddy_free_blocks(ppalloc_buddy(), k);
}

static unsigned log2_up(size_t x)
{
	unsigned k = 0;

	while (k < 8 * sizeof(size_t) && ((size_t)1 << k) < x)
		k++;
	return k;
}

/* Exercise 1's rules: the order to take, or -1. */
static int expected_order(const size_t *n, size_t min, size_t max)
{
	unsigned need = log2_up(min), want = log2_up(max);
	unsigned orders = buddy_orders(ppalloc_buddy());

	for (unsigned k = want; k < orders; k++)
		if (n[k])
			return k;
	for (unsigned k = want < orders ? want : orders; k-- > need;)
		if (n[k])
			return k;
	return -1;
}

/* Exercise 2: the counts after taking `used` units from a block of order k. */
static void expected_split(size_t *n, unsigned k, size_t used)
{
	n[k]--;
	while (used < ((size_t)1 << k)) {
		size_t half = (size_t)1 << --k;
		if (used <= half)
			n[k]++;
		else
			used -= half;
	}
}

/* The start of the lowest free block of order want_order, in pages. */
static void lowest_cb(void *arg, unsigned order, size_t start)
{
	size_t *p = arg;

	if (order == p[0] && p[1] == (size_t)-1)
		p[1] = start;
}

static void check_choice(size_t min, size_t max)
{
	size_t before[NORD], want[NORD], after[NORD], low[2];
	uintptr_t a = 1;
	int k;

	counts(before);
	size_t free_before = buddy_free_units(ppalloc_buddy());
	k = expected_order(before, min, max);
	if (k < 0) {
		if (ppalloc(min, max, &a) != 0)
			ktest_fail("ppalloc(%u, %u) succeeded; no free block has %u pages",
				   min, max, min);
		printk("ppalloc_choice: ppalloc(%u, %u) = 0, no block fits\n", min, max);
		return;
	}
	low[0] = k, low[1] = (size_t)-1;
	buddy_for_each_free(ppalloc_buddy(), lowest_cb, low);
	size_t expect = max < ((size_t)1 << k) ? max : ((size_t)1 << k);
	size_t got = ppalloc(min, max, &a);
	if (got != expect)
		ktest_fail("ppalloc(%u, %u) = %u pages, expected %u: the block taken must be "
			   "of order %d (exercise 1: the smallest order >= ceil_log2(max) with a "
			   "free block, else the largest order >= ceil_log2(min))",
			   min, max, got, expect, k);
	counts(after);
	int taken = -1;
	for (unsigned j = 0; j < NORD; j++)
		if (after[j] < before[j])
			taken = j;
	if (taken != k)
		ktest_fail("ppalloc(%u, %u) split a block of order %d; exercise 1 must take "
			   "order %d: the smallest order >= ceil_log2(max) = %u with a free "
			   "block, else the largest order in [ceil_log2(min), ceil_log2(max))",
			   min, max, taken, k, log2_up(max));
	for (unsigned j = 0; j < NORD; j++)
		want[j] = before[j];
	expected_split(want, k, got);
	for (unsigned j = 0; j < NORD; j++)
		if (after[j] != want[j])
			ktest_fail("ppalloc(%u, %u) from a free block of order %d: order %u has "
				   "%u free blocks after it, expected %u (exercise 1 takes that "
				   "order; exercise 2 gives back one upper half per order below it, "
				   "down to the allocation)", min, max, k, j, after[j], want[j]);
	if (a != low[1] * PAGE_SIZE)
		ktest_fail("ppalloc(%u, %u) = 0x%08x, expected 0x%08x: the lowest free block "
			   "of order %d", min, max, a, low[1] * PAGE_SIZE, k);
	struct runs r = { 1, { a / PAGE_SIZE }, { got }, -1, 0, 0 };
	if (split_overlap(ppalloc_buddy(), &r) >= 0)
		ktest_fail("ppalloc(%u, %u) = 0x%08x (%u pages) from a free block of order %d, "
			   "but the free block at 0x%08x (order %u) overlaps it (%s)", min, max,
			   a, got, k, r.hit_start * PAGE_SIZE, r.hit_order, SPLIT_HINT);
	ppfree(a, got);
	if (buddy_free_units(ppalloc_buddy()) > free_before)
		ktest_fail("ppfree(0x%08x, %u): %u pages free, more than the %u before the "
			   "allocation (exercise 3: the buddy a block merges with must come off "
			   "its free list, pop_free)", a, got, buddy_free_units(ppalloc_buddy()),
			   free_before);
	counts(after);
	for (unsigned j = 0; j < NORD; j++)
		if (after[j] != before[j])
			ktest_fail("ppfree(0x%08x, %u): order %u has %u free blocks, expected "
				   "%u as before the allocation (exercise 3: merge with the buddy "
				   "for as long as it is free)", a, got, j, after[j], before[j]);
	printk("ppalloc_choice: ppalloc(%u, %u) took order %d, freed back\n", min, max, k);
}

KTEST(ppalloc_choice)
{
	static const size_t req[][2] = {
		{ 1, 1 }, { 1, 2 }, { 2, 2 }, { 3, 3 }, { 5, 8 }, { 1, 16 }, { 7, 100 },
		{ 1, 1 << 30 }, { 1, (size_t)-1 }, { 300, 300 }, { 1 << 14, 1 << 14 },
	};
	static uintptr_t hold[256];
	static size_t held[256];
	unsigned n = 0;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	for (unsigned i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		check_choice(req[i][0], req[i][1]);
	/* Take every free block of orders 0-2, so that rule 1 has orders to
	 * skip and a request of 1 page must split a block of order 3 or more. */
	for (unsigned k = 0; k < 3; k++)
		while (n < 256 && buddy_free_blocks(ppalloc_buddy(), k) > 0) {
			held[n] = ppalloc((size_t)1 << k, (size_t)1 << k, &hold[n]);
			KEXPECT(held[n] > 0);
			n++;
		}
	KEXPECT(n < 256);
	printk("ppalloc_choice: orders 0-2 taken\n");
	for (unsigned i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		check_choice(req[i][0], req[i][1]);
	while (n--)
		ppfree(hold[n], held[n]);
}

/*
 * Merging into the top order. The physical buddy's top-order block holds
 * page 0 (reserved), so it is never free: this test runs a buddy of its own
 * over 64 units, all one free block of order 6 (the top order).
 */
static uint64_t small_meta[(4200 + 7) / 8];

/* alloc(1, 1), (5, 5), (32, 32) on the fresh 64 units: at 0, 8 and 32.
 * Exercise 2's result is checked before anything is freed. */
static void top_merge_allocs(struct buddy *b, size_t *s1, size_t *s2, size_t *s3)
{
	KEXPECT_EQ(buddy_alloc(b, 1, 1, s1), 1);
	if (buddy_free_units(b) != 63)
		ktest_fail("buddy_alloc(b, 1, 1) from the one block of 64 units: %u units "
			   "free, expected 63 (exercise 2 must put every unused half back "
			   "on a free list)", buddy_free_units(b));
	KEXPECT_EQ(buddy_alloc(b, 5, 5, s2), 5);
	KEXPECT_EQ(buddy_alloc(b, 32, 32, s3), 32);
	struct runs r = { 3, { *s1, *s2, *s3 }, { 1, 5, 32 }, -1, 0, 0 };
	int i = split_overlap(b, &r);
	if (i >= 0)
		ktest_fail("after buddy_alloc(b, 1, 1), (5, 5), (32, 32): the allocation [%u, %u) "
			   "overlaps the free block at unit %u (order %u) (%s)", r.start[i],
			   r.start[i] + r.count[i], r.hit_start, r.hit_order, SPLIT_HINT);
	if (buddy_free_units(b) != 64 - 1 - 5 - 32)
		ktest_fail("after buddy_alloc(b, 1, 1), (5, 5), (32, 32): %u units free, "
			   "expected 26 (exercise 2 must put every unused part back on a "
			   "free list)", buddy_free_units(b));
}

/* Everything free is one block of `order`: no free block below it. */
static void expect_merged(const struct buddy *b, unsigned order, const char *what,
			  const char *into)
{
	if (buddy_free_units(b) > ((size_t)1 << order))
		ktest_fail("%s, but %u units are counted free, more than %u (exercise 3: the "
			   "buddy a block merges with must come off its free list, pop_free)",
			   what, buddy_free_units(b), 1u << order);
	for (unsigned k = 0; k < order; k++)
		if (buddy_free_blocks(b, k) != 0)
			ktest_fail("%s, but order %u has %u free blocks: they must merge into %s",
				   what, k, buddy_free_blocks(b, k), into);
	KEXPECT_EQ(buddy_free_blocks(b, order), 1);
}

KTEST(buddy_top_merge)
{
	struct buddy *b;
	size_t s1, s2, s3;
	//@ LAB 8 BEGIN
	plain_ppalloc();
	//@ LAB 8 END

	KEXPECT(buddy_meta_size(64) <= sizeof(small_meta));
	b = buddy_init(small_meta, 64);
	KEXPECT_EQ(buddy_free_blocks(b, 6), 1);
	/* Below the top order first: freeing s1 then s2 frees [0, 32), whose
	 * last piece, [8, 16), is an upper half that must find its buddy [0, 8)
	 * below it. Order 5 then has [0, 32) and [32, 64) is s3's. */
	top_merge_allocs(b, &s1, &s2, &s3);
	KEXPECT_EQ(buddy_free(b, s1, 1), BUDDY_OK);
	KEXPECT_EQ(buddy_free(b, s2, 5), BUDDY_OK);
	expect_merged(b, 5, "after freeing [0, 1) and [8, 13) all of [0, 32) is free",
		      "one block of order 5 (exercise 3: merge with the buddy at "
		      "start ^ 2^k, below or above, for as long as it is free)");
	KEXPECT_EQ(buddy_free(b, s3, 32), BUDDY_OK);
	expect_merged(b, 6, "all 64 units free again",
		      "the one block of the top order 6 (exercise 3)");
	/* Then s2 before s1: [0, 8) merges up from order 0 to order 5. */
	top_merge_allocs(b, &s1, &s2, &s3);
	KEXPECT_EQ(buddy_free(b, s2, 5), BUDDY_OK);
	KEXPECT_EQ(buddy_free(b, s1, 1), BUDDY_OK);
	KEXPECT_EQ(buddy_free(b, s3, 32), BUDDY_OK);
	for (unsigned k = 0; k < 6; k++)
		if (buddy_free_blocks(b, k) != 0)
			ktest_fail("all 64 units free again, but order %u has %u free blocks: "
				   "they must merge into the one block of the top order 6 "
				   "(exercise 3)", k, buddy_free_blocks(b, k));
	KEXPECT_EQ(buddy_free_blocks(b, 6), 1);
	printk("buddy_top_merge: 64 units back to one block of order 6\n");
}
