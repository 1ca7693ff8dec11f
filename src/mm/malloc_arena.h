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

/*
 * Maps `pages` new pages and lays them out as an arena with one chunk
 * spanning it, tagged free (on no list yet) or, for a large block, F_LARGE.
 * NULL when the page source has no such run.
 */
struct arena *arena_create(size_t pages, bool large);
/* Gives arena a back to the page source. Its chunks must be on no free list. */
void arena_destroy(struct arena *a);
/*
 * The arena whose chunks p points into, or the large block whose pointer p
 * is; NULL if none. Reads only the hash table, never the memory at p, so
 * a wild pointer is safe to look up.
 */
struct arena *arena_of(const void *p);

#endif
