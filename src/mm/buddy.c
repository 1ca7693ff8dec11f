//@ LAB 2 FILE
/*
 * buddy.c: the buddy allocator of buddy.h, over abstract units [0, n).
 *
 * Data structure
 *
 * Free blocks are kept per order, as bitmaps rather than linked lists:
 * bit i of freemap[k] is set iff the block of order k starting at unit
 * i * 2^k is free as a whole and is not part of a bigger free block (it is
 * "on the free list of order k"). Order k has n >> k bits, one per block of
 * order k that lies inside [0, n), plus one more that is always clear (the
 * buddy of the last block may reach past n), so all the free maps together
 * take about 2n bits.
 *
 * A flat bitmap would need a scan to find a set bit. Each free map therefore
 * has summary levels above it: bit j of level l + 1 is set iff word j of
 * level l is not zero, up to a top level of at most TOP_WORDS (8) words,
 * which is read word by word. With 32-bit words, 2^20 bits need 4 levels
 * (32768, 1024, 32, 1 words), 2^17 bits 3 (4096, 128, 4), so finding the
 * first set bit at or after a position (bm_next) reads at most two words
 * per level below the top; setting or clearing a bit updates at most one
 * word per level.
 *
 * An order with few free blocks pays for its summary levels on almost every
 * change: its blocks sit alone in their words. Such an order is "listed"
 * instead: its free blocks are also kept in list[k][0 .. nfree[k]), highest
 * first, and its summary levels are all zero. The lowest block is then the
 * last entry. An order leaves
 * its list when a push would make it longer than LIST_MAX (unlist_order
 * sets the summary bits of its blocks) and goes back to it when it is down
 * to LIST_LOW blocks (list_order); the gap between the two keeps an order
 * near the limit from switching on every change. Level 0 of a free map is
 * exact in both states, so is_free_block is one bit test either way.
 *
 * Allocations are recorded in bounds, a flat bitmap of two bits per unit:
 *   bit 2u      an allocation starts at unit u
 *   bit 2u + 1  an allocation ends at unit u (its last unit)
 * An allocation [s, s + c) has exactly these two bits, and nothing lies
 * between them. Its start s is a multiple of 2^ceil_log2(c), so for c <= BIG
 * (16) both bits are in one word: marking, unmarking and checking it is one
 * word each. A bigger allocation starts a word of its own (s is a multiple
 * of 32), and its end bit is also set in bigend, one bit per unit with
 * summary levels: the allocation that starts at s ends at the first bigend
 * bit at or after s. Reserved units have no bits and are on no free list;
 * nothing else records them.
 *
 * Invariants
 *   - every unit is in exactly one free block, one allocation or one
 *     reserved range;
 *   - a block on the free list of order k has its buddy (start ^ 2^k) off
 *     that list, unless k is the highest order: free blocks are merged as
 *     soon as both halves are free;
 *   - nfree[k] is the number of bits set in level 0 of freemap[k], and the
 *     free units are the sum of nfree[k] * 2^k;
 *   - order k listed: list[k][0 .. nfree[k]) are exactly those bits, in
 *     descending order, and nfree[k] <= LIST_MAX; not listed:
 *     nfree[k] > LIST_LOW and the summary levels are exact.
 *
 * All metadata lives in the caller's buffer: struct buddy, then the words of
 * every bitmap, located by word offsets (not pointers) from b->words; the
 * lists hold block numbers.
 *
 * The student exercises of lab 2, marked LAB 2, are exercise 1
 * choose_order(), exercise 2 buddy_split() and exercise 3 free_block() (merging).
 * buddy_init, buddy_reserve and the counters never call them, so they keep
 * working while the exercises are stubs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "mm/buddy.h"

#define WORD_BITS	32
#define NONE		((size_t)-1)
/* A level of at most TOP_WORDS words is a bitmap's top: searched word by
 * word, with no summary above it. */
#define TOP_WORDS	8
/* Levels a bitmap may have: with a top of at most TOP_WORDS words, 7 levels
 * hold 8 * 32^7 = 2^38 bits, more than any bitmap of 2^32 units needs. A
 * bigger one (only possible on a 64-bit host) keeps a longer top level. */
#define MAX_LEVELS	7

/* A bitmap with summary levels; level 0 holds the bits themselves. */
struct bitmap {
	size_t nbits;
	unsigned nlevels;
	size_t off[MAX_LEVELS];		/* first word of each level in words[] */
	size_t nwords[MAX_LEVELS];	/* words in each level */
};

/* An order is listed while it has at most LIST_MAX free blocks, and becomes
 * listed again when it is down to LIST_LOW. */
#define LIST_MAX	12
#define LIST_LOW	6
/* An allocation of more than BIG units also has its end bit in bigend. */
#define BIG		16

struct buddy {
	size_t n;			/* units [0, n) */
	unsigned orders;		/* orders 0 .. orders-1 are in use */
	size_t nfree[BUDDY_MAX_ORDER];	/* free blocks per order */
	struct bitmap freemap[BUDDY_MAX_ORDER];
	uint32_t listed;		/* bit k: order k is listed */
	size_t list[BUDDY_MAX_ORDER][LIST_MAX];	/* block numbers (start >> k), descending */
	struct bitmap bounds;		/* level 0 only */
	struct bitmap bigend;
	uint32_t words[];		/* every bitmap's words */
};

/* ---- small arithmetic helpers ----------------------------------------- */

static size_t block_size(unsigned k)
{
	return (size_t)1 << k;
}

/* x >= 1. unsigned long is exactly as wide as size_t on i386 and x86-64. */
static unsigned floor_log2(size_t x)
{
	return sizeof(unsigned long) * 8 - 1 - __builtin_clzl((unsigned long)x);
}

static unsigned ceil_log2(size_t x)
{
	return x <= 1 ? 0 : floor_log2(x - 1) + 1;
}

/* Number of trailing zero bits of x >= 1. */
static unsigned low_zeros(size_t x)
{
	return __builtin_ctzl((unsigned long)x);
}

static unsigned orders_for(size_t n)
{
	unsigned top = floor_log2(n);

	return (top < BUDDY_MAX_ORDER ? top : BUDDY_MAX_ORDER - 1) + 1;
}

/* ---- bitmaps with summary levels -------------------------------------- */

/* Places a bitmap of nbits bits at word offset *next and advances *next.
 * Level 0 has room for `room` bits (>= nbits; the bits past nbits stay
 * clear); the summary levels above it cover the words of the nbits bits,
 * unless `summary` is false. */
static void bm_layout(struct bitmap *m, size_t nbits, size_t room, bool summary,
		      size_t *next)
{
	size_t words = (nbits + WORD_BITS - 1) / WORD_BITS;

	m->nbits = nbits;
	m->nlevels = 0;
	if (nbits == 0)
		return;
	m->off[0] = *next;
	m->nwords[0] = (room + WORD_BITS - 1) / WORD_BITS;
	*next += m->nwords[0];
	for (m->nlevels = 1; summary && words > TOP_WORDS && m->nlevels < MAX_LEVELS;
	     m->nlevels++) {
		words = (words + WORD_BITS - 1) / WORD_BITS;
		m->off[m->nlevels] = *next;
		m->nwords[m->nlevels] = words;
		*next += words;
	}
}

static const uint32_t *rlevel(const struct buddy *b, const struct bitmap *m,
			      unsigned l)
{
	return b->words + m->off[l];
}

static uint32_t *wlevel(struct buddy *b, const struct bitmap *m, unsigned l)
{
	return b->words + m->off[l];
}

static bool bm_test(const struct buddy *b, const struct bitmap *m, size_t i)
{
	return (rlevel(b, m, 0)[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* Bit i of level l; a word that becomes non-zero sets its bit one level
 * up (the climb of bm_set, out of line: most sets stop at level 0). */
static void bm_set_from(struct buddy *b, const struct bitmap *m, unsigned l, size_t i)
{
	for (; l < m->nlevels; l++, i /= WORD_BITS) {
		uint32_t *w = wlevel(b, m, l) + i / WORD_BITS;
		uint32_t old = *w;

		*w = old | (uint32_t)1 << (i % WORD_BITS);
		if (old != 0)
			break;
	}
}

/* Sets bit i; a word that becomes non-zero sets its bit one level up. */
static inline void bm_set(struct buddy *b, const struct bitmap *m, size_t i)
{
	uint32_t *w = wlevel(b, m, 0) + i / WORD_BITS;
	uint32_t old = *w;

	*w = old | (uint32_t)1 << (i % WORD_BITS);
	if (old == 0 && m->nlevels > 1)
		bm_set_from(b, m, 1, i / WORD_BITS);
}

static void bm_clear_from(struct buddy *b, const struct bitmap *m, unsigned l, size_t i)
{
	for (; l < m->nlevels; l++, i /= WORD_BITS) {
		uint32_t *w = wlevel(b, m, l) + i / WORD_BITS;

		*w &= ~((uint32_t)1 << (i % WORD_BITS));
		if (*w != 0)
			break;
	}
}

/* Clears bit i; a word that becomes zero clears its bit one level up. */
static inline void bm_clear(struct buddy *b, const struct bitmap *m, size_t i)
{
	uint32_t *w = wlevel(b, m, 0) + i / WORD_BITS;

	*w &= ~((uint32_t)1 << (i % WORD_BITS));
	if (*w == 0 && m->nlevels > 1)
		bm_clear_from(b, m, 1, i / WORD_BITS);
}

/* Takes the first set bit off a bitmap and returns it (NONE if there is
 * none): the first non-zero word of the top level, then down along the
 * lowest set bits, then bm_clear. */
static size_t bm_take_first(struct buddy *b, const struct bitmap *m)
{
	unsigned l = m->nlevels - 1;
	const uint32_t *top = rlevel(b, m, l);
	size_t i = 0;

	while (top[i] == 0)
		if (++i == m->nwords[l])
			return NONE;
	i = i * WORD_BITS + __builtin_ctz(top[i]);
	while (l-- > 0)
		i = i * WORD_BITS + __builtin_ctz(rlevel(b, m, l)[i]);
	bm_clear(b, m, i);
	return i;
}

/* The first set bit at or after i, or NONE. Climbs while the rest of the
 * current word is empty (at the top level: goes on to its next words),
 * then descends along the first non-zero words. */
static size_t bm_next(const struct buddy *b, const struct bitmap *m, size_t i)
{
	unsigned l, top = m->nlevels - 1;
	size_t w;
	uint32_t bits;

	if (m->nlevels == 0)
		return NONE;
	for (l = 0;; l++) {
		w = i / WORD_BITS;
		if (w >= m->nwords[l])
			return NONE;
		bits = rlevel(b, m, l)[w] & (~(uint32_t)0 << (i % WORD_BITS));
		if (bits != 0)
			break;
		if (l == top) {
			for (w++; w < m->nwords[l]; w++)
				if ((bits = rlevel(b, m, l)[w]) != 0)
					break;
			if (w == m->nwords[l])
				return NONE;
			break;
		}
		i = w + 1;	/* the next word of level l is bit w+1 above */
	}
	i = w * WORD_BITS + __builtin_ctz(bits);
	while (l-- > 0)
		i = i * WORD_BITS + __builtin_ctz(rlevel(b, m, l)[i]);
	return i;
}

/* ---- free lists ------------------------------------------------------- */

static inline bool is_listed(const struct buddy *b, unsigned k)
{
	return (b->listed >> k) & 1;
}

static inline void bit_set(struct buddy *b, const struct bitmap *m, size_t i)
{
	wlevel(b, m, 0)[i / WORD_BITS] |= (uint32_t)1 << (i % WORD_BITS);
}

static inline void bit_clear(struct buddy *b, const struct bitmap *m, size_t i)
{
	wlevel(b, m, 0)[i / WORD_BITS] &= ~((uint32_t)1 << (i % WORD_BITS));
}

/* Order k leaves its list: the summary levels get the listed blocks. Out
 * of line, like list_order: both are rare, and the pushes and pops that
 * call them stay small enough to inline. */
static __attribute__((noinline, cold)) void unlist_order(struct buddy *b, unsigned k)
{
	const struct bitmap *m = &b->freemap[k];

	if (m->nlevels > 1)
		for (size_t j = 0; j < b->nfree[k]; j++)
			bm_set_from(b, m, 1, b->list[k][j] / WORD_BITS);
	b->listed &= ~((uint32_t)1 << k);
}

/* Order k goes back to its list: its free blocks are found through the
 * summary levels, then every summary word on their paths is zeroed. */
static __attribute__((noinline, cold)) void list_order(struct buddy *b, unsigned k)
{
	const struct bitmap *m = &b->freemap[k];
	size_t i = 0;

	for (size_t j = b->nfree[k]; j-- > 0;) {
		i = bm_next(b, m, i);
		b->list[k][j] = i++;
	}
	for (size_t j = 0; j < b->nfree[k]; j++) {
		size_t w = b->list[k][j] / WORD_BITS;

		for (unsigned l = 1; l < m->nlevels; l++, w /= WORD_BITS)
			wlevel(b, m, l)[w / WORD_BITS] = 0;
	}
	b->listed |= (uint32_t)1 << k;
}

/* Puts the block of order k at start on its free list: into its place in
 * the list, or into the bitmap. */
static inline void push_free(struct buddy *b, unsigned k, size_t start)
{
	const struct bitmap *m = &b->freemap[k];
	size_t i = start >> k, n = b->nfree[k];

	if (is_listed(b, k)) {
		if (n < LIST_MAX) {
			size_t *l = b->list[k], j = n;

			for (; j > 0 && l[j - 1] < i; j--)
				l[j] = l[j - 1];
			l[j] = i;
			bit_set(b, m, i);
			b->nfree[k] = n + 1;
			return;
		}
		unlist_order(b, k);
	}
	bm_set(b, m, i);
	b->nfree[k] = n + 1;
}

/* Takes block i of order k off its free list (it is on it). */
static inline void take_block(struct buddy *b, unsigned k, size_t i)
{
	const struct bitmap *m = &b->freemap[k];
	size_t n = --b->nfree[k];

	if (is_listed(b, k)) {
		size_t *l = b->list[k], j = 0;

		while (l[j] != i)
			j++;
		for (; j < n; j++)
			l[j] = l[j + 1];
		bit_clear(b, m, i);
		return;
	}
	bm_clear(b, m, i);
	if (n == LIST_LOW)
		list_order(b, k);
}

/* Takes the block of order k at start off its free list (it is on it). */
static inline void pop_free(struct buddy *b, unsigned k, size_t start)
{
	take_block(b, k, start >> k);
}

/* Takes the lowest free block of order k (there is one) off its list: the
 * list's last entry, or the first bit of the bitmap. */
static inline size_t take_lowest(struct buddy *b, unsigned k)
{
	size_t i;

	if (is_listed(b, k)) {
		i = b->list[k][--b->nfree[k]];
		bit_clear(b, &b->freemap[k], i);
		return i << k;
	}
	i = bm_take_first(b, &b->freemap[k]);
	if (--b->nfree[k] == LIST_LOW)
		list_order(b, k);
	return i << k;
}

/* The first free block of order k at or after block i, or NONE. */
static size_t next_free(const struct buddy *b, unsigned k, size_t i)
{
	if (!is_listed(b, k))
		return bm_next(b, &b->freemap[k], i);
	for (size_t j = b->nfree[k]; j-- > 0;)	/* ascending */
		if (b->list[k][j] >= i)
			return b->list[k][j];
	return NONE;
}

/* Records the allocation [s, s + c): its bounds bits, and for a big one its
 * bigend bit. */
static inline void mark_alloc(struct buddy *b, size_t s, size_t c)
{
	uint32_t *w = wlevel(b, &b->bounds, 0);
	size_t lo = 2 * s, hi = 2 * (s + c) - 1;

	if (c <= BIG) {		/* both bits in one word */
		w[lo / WORD_BITS] |= ((uint32_t)1 | (uint32_t)1 << (hi - lo)) << (lo % WORD_BITS);
		return;
	}
	w[lo / WORD_BITS] |= (uint32_t)1 << (lo % WORD_BITS);
	w[hi / WORD_BITS] |= (uint32_t)1 << (hi % WORD_BITS);
	bm_set(b, &b->bigend, s + c - 1);
}

static inline void unmark_alloc(struct buddy *b, size_t s, size_t c)
{
	uint32_t *w = wlevel(b, &b->bounds, 0);
	size_t lo = 2 * s, hi = 2 * (s + c) - 1;

	if (c <= BIG) {
		w[lo / WORD_BITS] &= ~(((uint32_t)1 | (uint32_t)1 << (hi - lo)) << (lo % WORD_BITS));
		return;
	}
	w[lo / WORD_BITS] &= ~((uint32_t)1 << (lo % WORD_BITS));
	w[hi / WORD_BITS] &= ~((uint32_t)1 << (hi % WORD_BITS));
	bm_clear(b, &b->bigend, s + c - 1);
}

/* Is the block of order k at start (aligned; inside [0, n), or the buddy
 * of a block that is) on the free list of order k? False for a buddy that
 * reaches past n: its bit is the always-clear one after the last block's. */
static bool is_free_block(const struct buddy *b, unsigned k, size_t start)
{
	return bm_test(b, &b->freemap[k], start >> k);
}

/* pop_free of the block of order k at start if it is on its free list
 * (is_free_block); false if it is not. */
static inline bool take_if_free(struct buddy *b, unsigned k, size_t start)
{
	if (!is_free_block(b, k, start))
		return false;
	take_block(b, k, start >> k);
	return true;
}

/* The start of the free block containing unit u, its order in *k; NONE if u
 * is not free. One bit test per order. */
static size_t free_block_at(const struct buddy *b, size_t u, unsigned *k)
{
	for (*k = 0; *k < b->orders; (*k)++) {
		size_t start = u & ~(block_size(*k) - 1);

		if (is_free_block(b, *k, start))
			return start;
	}
	return NONE;
}

/* The order of the largest block that starts at p, is aligned, and ends at
 * or before end (p < end). */
static unsigned fit_order(const struct buddy *b, size_t p, size_t end)
{
	unsigned k = floor_log2(end - p);

	if (p != 0 && low_zeros(p) < k)
		k = low_zeros(p);
	return k < b->orders ? k : b->orders - 1;
}

/* Puts [from, to) on the free lists as its greedy decomposition, without
 * merging. Only for ranges carved out of one free block whose other units
 * are taken: no piece can then have a free buddy. */
static void free_range(struct buddy *b, size_t from, size_t to)
{
	while (from < to) {
		unsigned k = fit_order(b, from, to);

		push_free(b, k, from);
		from += block_size(k);
	}
}

/* ---- setup ------------------------------------------------------------ */

/* Lays out every bitmap for n units and returns the words they take.
 * With b NULL only counts. */
static size_t layout(struct buddy *b, size_t n)
{
	struct bitmap scratch;
	unsigned orders = orders_for(n);
	size_t next = 0;

	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++)
		bm_layout(b ? &b->freemap[k] : &scratch, k < orders ? n >> k : 0,
			  k < orders ? (n >> k) + 1 : 0, true, &next);
	bm_layout(b ? &b->bounds : &scratch, 2 * n, 2 * n, false, &next);
	bm_layout(b ? &b->bigend : &scratch, n, n, true, &next);
	return next;
}

size_t buddy_meta_size(size_t n_units)
{
	if (n_units == 0)
		return sizeof(struct buddy);
	return sizeof(struct buddy) + layout(NULL, n_units) * sizeof(uint32_t);
}

struct buddy *buddy_init(void *meta, size_t n_units)
{
	struct buddy *b = meta;
	size_t words;

	if (meta == NULL || n_units == 0)
		return NULL;
	b->n = n_units;
	b->orders = orders_for(n_units);
	b->listed = ~(uint32_t)0;
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++)
		b->nfree[k] = 0;
	words = layout(b, n_units);
	for (size_t i = 0; i < words; i++)
		b->words[i] = 0;
	free_range(b, 0, n_units);
	return b;
}

const char *buddy_strerror(int err)
{
	switch (err) {
	case BUDDY_OK:		return "ok";
	case BUDDY_EDOUBLE:	return "double free";
	case BUDDY_ENOTSTART:	return "not the start of an allocated block";
	case BUDDY_ESIZE:	return "wrong size";
	case BUDDY_ERANGE:	return "out of range";
	case BUDDY_EBUSY:	return "range not free";
	default:		return "unknown buddy error";
	}
}

/* Checks that all of [start, end) is free, block by block, then takes each
 * free block out and puts back the parts outside the range. */
int buddy_reserve(struct buddy *b, size_t start, size_t count)
{
	size_t end, u, s;
	unsigned k;

	if (start >= b->n || count > b->n - start)
		return BUDDY_ERANGE;
	end = start + count;
	for (u = start; u < end; u = s + block_size(k))
		if ((s = free_block_at(b, u, &k)) == NONE)
			return BUDDY_EBUSY;
	for (u = start; u < end; u = s + block_size(k)) {
		s = free_block_at(b, u, &k);
		pop_free(b, k, s);
		free_range(b, s, start);
		free_range(b, end, s + block_size(k));
	}
	return BUDDY_OK;
}

/* ---- allocation ------------------------------------------------------- */

/*
 * LAB 2 exercise 1: the order of the block buddy_alloc takes, for an
 * allocation of min..max units where need = ceil_log2(min) and
 * want = ceil_log2(max) (need <= want; want may exceed the orders in use).
 * The smallest order >= want that has a free block; failing that, the
 * largest order in [need, want) that has one; -1 if there is none.
 * b->nfree[k] counts the free blocks of order k.
 */
static int choose_order(const struct buddy *b, unsigned need, unsigned want)
{
	//@ LAB 2 BEGIN
	unsigned k;

	for (k = want; k < b->orders; k++)
		if (b->nfree[k] > 0)
			return k;
	for (k = want < b->orders ? want : b->orders; k-- > need;)
		if (b->nfree[k] > 0)
			return k;
	return -1;
	//@ LAB 2 STUB
	//@ /* LAB 2 exercise 1: pick the order to allocate from; see handouts/lab2-buddy.md */
	//@ (void)b, (void)need, (void)want;
	//@ return -1;
	//@ LAB 2 END
}

/*
 * LAB 2 exercise 2: the block of order k at start has just been taken off
 * its free list to hold `used` units at its start (1 <= used <= 2^k). Split
 * it: while the allocation fits in the lower half, put the upper half back on
 * the free list of the order below; when it needs more than the lower half,
 * the lower half is all used and splitting goes on in the upper half with
 * the rest. At the end exactly [start, start + used) is taken and every
 * other unit of the block is on a free list.
 */
static void buddy_split(struct buddy *b, size_t start, unsigned k, size_t used)
{
	//@ LAB 2 BEGIN
	while (used < block_size(k)) {
		size_t half = block_size(--k);

		if (used <= half) {
			push_free(b, k, start + half);
		} else {
			start += half;
			used -= half;
		}
	}
	//@ LAB 2 STUB
	//@ /* LAB 2 exercise 2: give back the unused part of the block; see handouts/lab2-buddy.md */
	//@ (void)b, (void)start, (void)k, (void)used;
	//@ LAB 2 END
}

size_t buddy_alloc(struct buddy *b, size_t min, size_t max, size_t *start)
{
	int k;
	unsigned want;
	size_t s, used;

	if (min == 0 || min > max || min > b->n)
		return 0;
	want = ceil_log2(max);
	k = choose_order(b, min == max ? want : ceil_log2(min), want);
	if ((unsigned)k >= b->orders || b->nfree[k] == 0)	/* also k < 0 */
		return 0;
	s = take_lowest(b, k);
	used = max < block_size(k) ? max : block_size(k);
	buddy_split(b, s, k, used);
	mark_alloc(b, s, used);
	*start = s;
	return used;
}

/* ---- freeing ---------------------------------------------------------- */

/*
 * LAB 2 exercise 3: put the block of order k at start back on the free
 * lists, merged with its buddy (start ^ 2^k) for as long as the buddy is on
 * the free list of the same order: take the buddy off, and go on with the
 * block of order k + 1 that holds both. Never merge past the highest order
 * (b->orders - 1). is_free_block says whether a block is on a free list.
 */
static void free_block(struct buddy *b, size_t start, unsigned k)
{
	//@ LAB 2 BEGIN
	while (k + 1 < b->orders && is_free_block(b, k, start ^ block_size(k))) {
		pop_free(b, k, start ^ block_size(k));
		start &= ~block_size(k);
		k++;
	}
	push_free(b, k, start);
	//@ LAB 2 STUB
	//@ /* LAB 2 exercise 3: merge with free buddies first; see handouts/lab2-buddy.md */
	//@ push_free(b, k, start);
	//@ LAB 2 END
}

/*
 * Is [s, s + c) exactly an allocation, given that one starts at s? word is
 * the bounds word of unit s shifted down to bit 2s (so bit 0 is set). A
 * small allocation (c <= BIG) has both its bits in that word, since s is a
 * multiple of 2^ceil_log2(c): its end bit must be set and no bit between.
 * A big one has the rest of the word to itself (its start bit only), and
 * it ends at the first bigend bit at or after s. A claim that does not fit
 * the real allocation fails one of these: a big claim on a small allocation
 * finds its end bit in the word, a small claim on a big one finds no end
 * bit there.
 */
static inline bool alloc_is(const struct buddy *b, uint32_t word, size_t s, size_t c)
{
	size_t lo = 2 * s, hi = 2 * (s + c) - 1;

	if (c <= BIG)
		return (word & ~(~(uint32_t)0 << (hi - lo) << 1)) == (1 | (uint32_t)1 << (hi - lo));
	return word == 1 && bm_next(b, &b->bigend, s) == s + c - 1;
}

/* The error buddy_free(b, start, count) must return, without changing
 * anything. */
static inline int check_free(const struct buddy *b, size_t start, size_t count)
{
	unsigned k;
	uint32_t word;

	if (start >= b->n || count > b->n - start)
		return BUDDY_ERANGE;
	word = rlevel(b, &b->bounds, 0)[2 * start / WORD_BITS] >> (2 * start % WORD_BITS);
	if (!(word & 1))
		return free_block_at(b, start, &k) != NONE ? BUDDY_EDOUBLE
							   : BUDDY_ENOTSTART;
	if (count == 0 || !alloc_is(b, word, start, count))
		return BUDDY_ESIZE;
	return BUDDY_OK;
}

/*
 * The end of the free run that [start, end) can be freed as: buddy_alloc
 * took the allocation from a block of order o = ceil_log2(count) at start
 * and buddy_split gave the tail [end, start + 2^o) back as its greedy pieces
 * (orders rising from end). Each of those pieces that is still a free block,
 * from the lowest up, is taken off its free list and added to the run. When
 * the whole tail is free, the allocation's block is freed in one piece
 * instead of as pieces that would each be pushed and popped again as the
 * next one merges.
 */
static size_t take_tail(struct buddy *b, size_t start, size_t end)
{
	unsigned o = ceil_log2(end - start);
	size_t span = o < b->orders ? block_size(o) : b->n;

	while (end - start < span) {
		unsigned k = low_zeros(end);

		if (!take_if_free(b, k, end))
			break;
		end += block_size(k);
	}
	return end;
}

/* Frees [start, start + count) with the free tail taken back (take_tail),
 * as the run's greedy decomposition. start is aligned to
 * 2^ceil_log2(count), so the pieces follow the bits of the run's length,
 * largest first, and each piece is merged as far as it goes. */
int buddy_free(struct buddy *b, size_t start, size_t count)
{
	size_t p, end;
	int err = check_free(b, start, count);

	if (err != BUDDY_OK)
		return err;
	unmark_alloc(b, start, count);
	end = take_tail(b, start, start + count);
	for (p = start; p < end;) {
		unsigned k = floor_log2(end - p);

		free_block(b, p, k);
		p += block_size(k);
	}
	return BUDDY_OK;
}

/* ---- queries ---------------------------------------------------------- */

int buddy_check(const struct buddy *b, size_t start, size_t count)
{
	return check_free(b, start, count);
}

size_t buddy_free_units(const struct buddy *b)
{
	size_t sum = 0;

	for (unsigned k = 0; k < b->orders; k++)
		sum += b->nfree[k] << k;
	return sum;
}

size_t buddy_free_blocks(const struct buddy *b, unsigned order)
{
	return order < b->orders ? b->nfree[order] : 0;
}

unsigned buddy_orders(const struct buddy *b)
{
	return b->orders;
}

size_t buddy_units(const struct buddy *b)
{
	return b->n;
}

/* Merges the per-order free maps by start: next[k] is the next free block of
 * order k not yet reported (a block index), NONE when there is none. */
void buddy_for_each_free(const struct buddy *b,
			 void (*fn)(void *arg, unsigned order, size_t start),
			 void *arg)
{
	size_t next[BUDDY_MAX_ORDER];
	unsigned k;

	for (k = 0; k < b->orders; k++)
		next[k] = next_free(b, k, 0);
	for (;;) {
		unsigned best = b->orders;

		for (k = 0; k < b->orders; k++)
			if (next[k] != NONE &&
			    (best == b->orders || next[k] << k < next[best] << best))
				best = k;
		if (best == b->orders)
			return;
		fn(arg, best, next[best] << best);
		next[best] = next_free(b, best, next[best] + 1);
	}
}
