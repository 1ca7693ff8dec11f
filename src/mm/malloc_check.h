//@ LAB 6 FILE
/*
 * malloc's insides (4): checking the pointers given to free and realloc,
 * and saying what is wrong with them (malloc_check.c, which also has
 * malloc_walk, malloc_stats and malloc_check of malloc.h).
 */
#ifndef STRATA_MM_MALLOC_CHECK_H
#define STRATA_MM_MALLOC_CHECK_H

#include "mm/malloc_chunk.h"

/*
 * The chunk of pointer p that op ("free" or "realloc") was given; panics,
 * naming op, p and the reason, if p is not a pointer malloc returned and
 * that is still allocated. Reads no memory at p before arena_of has found
 * its arena.
 */
struct chunk *checked_chunk(void *p, const char *op);

#endif
