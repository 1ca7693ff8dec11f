//@ LAB 6 FILE
/*
 * malloc's insides (3): the arenas' lifecycle (pages from the page source,
 * laid out, listed, hashed; given back) and the hash that finds the arena
 * of a pointer.
 */
#ifndef STRATA_MM_MALLOC_ARENA_H
#define STRATA_MM_MALLOC_ARENA_H

#include "mm/malloc_chunk.h"

extern struct arena *arenas;		/* sorted by address */
extern struct arena *cached_empty;	/* the one wholly free arena kept, or NULL */
extern size_t heap_pages;		/* held from the page source */

//@ LAB 8 BEGIN
/*
 * free of a small chunk runs without the heap's lock (the magazines,
 * malloc_cache.h), so it reads the hash while another CPU may change it:
 * arena_gen is odd while the hash changes (heap lock held) and changes
 * with each change; a reader that saw it odd or changed reads again.
 */
extern volatile uint32_t arena_gen;
//@ LAB 8 END

/* Around every change of the hash (heap lock held). */
static inline void arena_hash_begin(void)
{
	//@ LAB 8 BEGIN
	arena_gen++;
	__asm__ volatile("" ::: "memory");
	//@ LAB 8 END
}

static inline void arena_hash_end(void)
{
	//@ LAB 8 BEGIN
	__asm__ volatile("" ::: "memory");
	arena_gen++;
	//@ LAB 8 END
}

/*
 * Maps `pages` new pages and lays them out as an arena with one chunk
 * spanning it, tagged free (on no list yet) or, for a large block, F_LARGE.
 * NULL when the page source has no such run.
 */
struct arena *arena_create(size_t pages, bool large);
/* Gives arena a back to the page source. Its chunks must be on no free list. */
void arena_destroy(struct arena *a);

/*
 * The hash (scheme at struct slotent, malloc_chunk.h): a bucket per slot
 * modulo NBUCKET holds two entries in place, more go on a chain through
 * the arenas' own slotlinks. A bucket is padded to a power of two (7 words
 * to 8), so that finding it is a shift, not a multiply, on every free.
 */
#define NBUCKET		256

struct bucket {
	struct slotent e[2];
	struct slotlink *more;
} __attribute__((aligned(8 * sizeof(uintptr_t))));

_Static_assert(sizeof(struct bucket) == 8 * sizeof(uintptr_t), "a bucket is 8 words");
extern struct bucket arena_buckets[NBUCKET];

static inline struct bucket *bucket_of(uintptr_t x)
{
	return &arena_buckets[(x >> SLOT_SHIFT) % NBUCKET];
}

/* The arena of p if its bucket holds it in place, else NULL. */
static inline struct arena *arena_in_place(const struct bucket *b, uintptr_t x)
{
	if (x - b->e[0].lo < b->e[0].len)
		return b->e[0].arena;
	if (x - b->e[1].lo < b->e[1].len)
		return b->e[1].arena;
	return NULL;
}

/*
 * The arena whose chunks p points into, or the large block whose pointer p
 * is; NULL if none. Reads only the hash table, never the memory at p, so
 * a wild pointer is safe to look up. Inline: free and realloc call it.
 */
static inline struct arena *arena_lookup(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	struct bucket *b = bucket_of(x);
	struct arena *a = arena_in_place(b, x);
	struct slotlink *l;

	if (a != NULL)
		return a;
	for (l = b->more; l != NULL; l = l->next)
		if (x - l->ent.lo < l->ent.len)
			return l->ent.arena;
	return NULL;
}


/* arena_lookup, safe against a concurrent change of the hash (lab 8). */
static inline struct arena *arena_of(const void *p)
{
	//@ LAB 8 BEGIN
	uint32_t gen;
	struct arena *a;

	do {
		gen = arena_gen;
		__asm__ volatile("" ::: "memory");
		a = arena_lookup(p);
		__asm__ volatile("" ::: "memory");
	} while ((gen & 1) != 0 || gen != arena_gen);
	return a;
	//@ LAB 8 END

	return arena_lookup(p);
}

//@ LAB 8 BEGIN
/*
 * For free's path without the heap lock (cacheable_chunk, malloc_cache.h):
 * the arena of p only if its bucket holds it in place, read as arena_of
 * reads. It never follows the bucket's chain: the chain's links live in
 * the arenas themselves, and another CPU may be giving one of those arenas
 * back, unmapping its pages, right now. NULL sends free the heap's way,
 * whose arena_of follows the chain under the lock (arenas are given back
 * only under it).
 */
static inline struct arena *arena_of_unlocked(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	uint32_t gen;
	struct arena *a;

	do {
		gen = arena_gen;
		__asm__ volatile("" ::: "memory");
		a = arena_in_place(bucket_of(x), x);
		__asm__ volatile("" ::: "memory");
	} while ((gen & 1) != 0 || gen != arena_gen);
	return a;
}
//@ LAB 8 END

#endif
