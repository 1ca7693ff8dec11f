//@ LAB 6 FILE
/*
 * malloc's insides (4): checking the pointers given to free and realloc,
 * and saying what is wrong with them (malloc_check.c, which also has
 * malloc_walk, malloc_stats and malloc_check of malloc.h).
 */
#ifndef STRATA_MM_MALLOC_CHECK_H
#define STRATA_MM_MALLOC_CHECK_H

#include "mm/malloc_arena.h"
#include "mm/malloc_chunk.h"

/* Panics "malloc: <op>(<p>): <why>" (malloc_op names op and p). */
void malloc_misuse(const char *why) __attribute__((noreturn));
/* p's header is not a valid allocated chunk's: panics saying why (a
 * double free, a foreign pointer, a header broken at or before p). */
void malloc_diagnose(struct arena *a, void *p) __attribute__((noreturn));

/*
 * The chunk of pointer p that op ("free" or "realloc") was given; panics,
 * naming op, p and the reason, if p is not a pointer malloc returned and
 * that is still allocated. Reads no memory at p before arena_of has found
 * its arena. Always inline: it is on every free.
 */
static inline __attribute__((always_inline)) struct chunk *checked_chunk(void *p,
								 const char *op)
{
	struct chunk *c = (struct chunk *)((char *)p - TAG);
	struct arena *a;

	malloc_op.name = op;
	malloc_op.ptr = p;
	if ((uintptr_t)p % ALIGN != 0)
		malloc_misuse("not a malloc'd pointer");
	if ((a = arena_of(p)) == NULL)
		malloc_misuse("not a malloc'd pointer (or one freed already, whose memory "
			    "went back to kvfree)");
	/* The canary covers the address, size and flags: if it is right,
	 * c is a chunk and its size can be trusted. */
	if (!tag_ok(c))
		malloc_diagnose(a, p);
	if (c->h.size & F_FREE)
		malloc_misuse("double free");
	//@ LAB 8 BEGIN
	if (c->h.size & F_CACHED)	/* freed into a magazine */
		malloc_misuse("double free");
	//@ LAB 8 END

	if (!footer_ok(c))
		malloc_misuse("corrupted chunk header (footer differs: buffer overrun?)");
	return c;
}

#endif
