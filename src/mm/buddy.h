//@ LAB 2 FILE
/*
 * buddy.h: a buddy allocator over abstract units [0, n).
 *
 * The allocator knows nothing about what a unit is: ppalloc.c applies it to
 * physical pages, vpalloc.c to ranges of virtual pages. It never
 * allocates memory itself: the caller hands it buddy_meta_size(n) bytes of
 * metadata, and every operation works inside them.
 *
 * Vocabulary
 *   block of order k   the 2^k units [i * 2^k, (i + 1) * 2^k), for some i;
 *                      a block always lies entirely inside [0, n)
 *   buddy              the other half of the block of order k + 1 a block of
 *                      order k belongs to: start ^ 2^k
 *   allocation         what buddy_alloc returns: `count` units at `start`,
 *                      where start is a multiple of 2^ceil_log2(count)
 *   reserved           units taken out for good by buddy_reserve
 *
 * Invariants (checked by tests/test_buddy.c after every operation)
 *   - every unit is in exactly one of: a free block, an allocation, a
 *     reserved range;
 *   - free blocks are aligned to their order and never overlap;
 *   - no two free blocks of the same order are buddies (they would have been
 *     merged), so a fully free allocator holds exactly the greedy
 *     decomposition of [0, n) into aligned power-of-two blocks;
 *   - buddy_free_units == n - reserved units - allocated units.
 *
 * Cost: buddy_alloc and buddy_free are O(log n) (a few bitmap words per
 * order, never a scan over units or over free blocks). buddy_reserve is
 * O(log n) per free block it touches; it is meant for boot time.
 *
 * Metadata: about 5.1 bits per unit (free bitmaps of all orders, 2n bits;
 * two bits per unit for "an allocation starts here" and "an allocation ends
 * here"; one more for the ends of allocations of more than 16 units; summary
 * words above the bitmaps that need them), plus a fixed header (3.8 KiB on
 * i386). For n = 2^20 units (4 GiB of 4 KiB pages) buddy_meta_size is
 * 671,976 bytes on i386, about 0.64 byte per unit (the budget is 1 byte a
 * unit); for 2^18 units it is 170,932 bytes.
 * The metadata holds offsets only, no pointers, so it may be reached through
 * a different mapping later than the one buddy_init saw.
 *
 * Misuse: buddy_free and buddy_reserve validate their arguments completely
 * before they change anything; on error the allocator is untouched.
 *
 * Not thread-safe: callers lock (ppalloc.c and vpalloc.c do, from lab 8 on).
 */
#ifndef STRATA_MM_BUDDY_H
#define STRATA_MM_BUDDY_H

#include <stddef.h>

#define BUDDY_MAX_ORDER 32	/* orders 0..BUDDY_MAX_ORDER-1 at most */

struct buddy;			/* lives inside the caller-provided metadata */

/* Bytes of metadata for n_units units (n_units >= 1). */
size_t buddy_meta_size(size_t n_units);

/* Sets up an allocator over [0, n_units) in meta, which must be
 * buddy_meta_size(n_units) bytes, 8-aligned. All units start FREE, as the
 * greedy decomposition of [0, n_units). Returns NULL if meta is NULL or
 * n_units is 0. */
struct buddy *buddy_init(void *meta, size_t n_units);

enum buddy_err {
	BUDDY_OK = 0,
	BUDDY_EDOUBLE,		/* "double free" */
	BUDDY_ENOTSTART,	/* "not the start of an allocated block" */
	BUDDY_ESIZE,		/* "wrong size" */
	BUDDY_ERANGE,		/* "out of range" */
	BUDDY_EBUSY,		/* "range not free" */
};

/* A short message for a buddy_err (never NULL). */
const char *buddy_strerror(int err);

/* Marks [start, start + count) as permanently used. The range need not be
 * aligned. BUDDY_ERANGE if it does not lie inside [0, n), BUDDY_EBUSY if any
 * unit of it is not free (then nothing is reserved). Reserved units are never
 * handed out, and freeing them is an error (BUDDY_ENOTSTART). count 0 (with
 * start < n) is a no-op. Uses neither the splitting of buddy_alloc nor the
 * merging of buddy_free, so it works while those are lab exercises. */
int buddy_reserve(struct buddy *b, size_t start, size_t count);

/* Allocates between min and max contiguous units (1 <= min <= max): takes
 * the smallest free block of order >= ceil_log2(max) if there is one,
 * otherwise the largest free block of order >= ceil_log2(min), and uses
 * min(max, 2^order) units at its start; the rest of the block goes back on
 * the free lists. Among blocks of the chosen order it takes the lowest one.
 * Sets *start and returns the count; returns 0 (and leaves *start alone) if
 * no block of at least min units is free or the arguments are invalid. */
size_t buddy_alloc(struct buddy *b, size_t min, size_t max, size_t *start);

/* Gives back exactly an allocation of buddy_alloc: same start, same count.
 * On misuse returns an error and changes nothing:
 *   BUDDY_ERANGE     [start, start + count) is not inside [0, n)
 *   BUDDY_EDOUBLE    unit start is free
 *   BUDDY_ENOTSTART  start is not where an allocation starts (inside one,
 *                    or reserved)
 *   BUDDY_ESIZE      count is not the allocated count
 * The units freed are merged with free buddies as far as possible. */
int buddy_free(struct buddy *b, size_t start, size_t count);
/* What buddy_free(b, start, count) would return, without freeing anything:
 * BUDDY_OK if [start, start + count) is exactly one live allocation. */
int buddy_check(const struct buddy *b, size_t start, size_t count);

size_t buddy_free_units(const struct buddy *b);
/* Number of free blocks of exactly this order (0 for orders not in use). */
size_t buddy_free_blocks(const struct buddy *b, unsigned order);
/* Number of orders in use: 1 + min(floor_log2(n), BUDDY_MAX_ORDER - 1). */
unsigned buddy_orders(const struct buddy *b);
size_t buddy_units(const struct buddy *b);

/* For debuggers and the monitor: calls fn(arg, order, start) for each free
 * block, by ascending start. fn must not change the allocator. */
void buddy_for_each_free(const struct buddy *b,
			 void (*fn)(void *arg, unsigned order, size_t start),
			 void *arg);

#endif /* STRATA_MM_BUDDY_H */
