//@ LAB 6 FILE
/*
 * malloc's insides (1): the layout of arenas and chunks, the boundary tags
 * and their canaries, and what a broken tag panics with. The picture is at
 * the top of malloc.c. Private to src/mm/malloc*.c: malloc.h is the
 * interface. Tag work is on every malloc and free, so it is static inline.
 */
#ifndef STRATA_MM_MALLOC_CHUNK_H
#define STRATA_MM_MALLOC_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/layout.h"
#include "mm/malloc.h"

#define ARENA_PAGES	16
#define ARENA_BYTES	(ARENA_PAGES * PAGE_SIZE)
#define LARGE_MIN	(ARENA_BYTES / 4)	/* chunks bigger than this get their own region */

#define ALIGN		MALLOC_ALIGN
#define TAG		8			/* sizeof(struct tag) */
#define MIN_CHUNK	32			/* header, two list links, footer */

#define F_FREE		1u
#define F_FENCE		2u
#define F_LARGE		4u
//@ LAB 8 BEGIN
#define F_CACHED	8u	/* in a magazine (malloc_cache.h) */
//@ LAB 8 END

#define F_MASK		15u

#define CANARY_SEED	0x5a17c0deu
#define ARENA_MAGIC	0xa4e4a600u
#define LARGE_MAGIC	0xa4e4a61au

/* Arenas are found from a pointer through a hash of their 64 KiB "slots"
 * (malloc_arena.c). */
#define SLOT_SHIFT	16

_Static_assert(ARENA_BYTES <= (1 << SLOT_SHIFT), "an arena must overlap at most 2 slots");
_Static_assert(ARENA_BYTES <= (1 << 16), "size classes stop at 64 KiB");

/* A boundary tag: the header and the footer of a chunk. */
struct tag {
	uint32_t size;		/* whole chunk in bytes | flags */
	uint32_t canary;	/* canary(chunk address, size) */
};

struct chunk {
	struct tag h;
	struct chunk *next;	/* free chunks only: links of the class list */
	struct chunk *prev;
};

struct arena;

/*
 * Finding the arena of a pointer: arenas are hashed under each 64 KiB
 * "slot" of the address space they overlap (at most two). A bucket holds
 * two entries in place, enough for the two arenas that can share a slot;
 * more (colliding slots) go on a chain through the arenas' own slotlinks.
 */
struct slotent {
	uintptr_t lo, len;	/* pointers p with p - lo < len are in arena; len 0: unused */
	struct arena *arena;
};

struct slotlink {		/* an arena's entry when its bucket is full */
	struct slotlink *next;
	struct slotent ent;
};

struct arena {
	uint32_t magic;		/* ARENA_MAGIC, or LARGE_MAGIC for a large block */
	uint32_t large;
	size_t pages;
	struct arena *next;	/* all arenas, in address order */
	struct arena *prev;
	struct slotlink link[2];
};

/* Offset of the first chunk: after the arena header and the front fence. */
#define ARENA_FIRST	((sizeof(struct arena) + TAG + ALIGN - 1) / ALIGN * ALIGN + TAG)

/* The call being checked, for panic messages: "free" or "realloc" and its
 * argument, or no name (malloc, malloc_walk, malloc_check). */
struct malloc_op {
	const char *name;
	void *ptr;
};
extern struct malloc_op malloc_op;

/* Panics: "corrupted chunk header at <where>: <what>", naming malloc_op. */
void malloc_corrupt(const void *where, const char *what) __attribute__((noreturn));
/* memset and memcpy of our own (malloc uses no C library); malloc_copy
 * wants both pointers word aligned (they are chunk payloads). */
void malloc_fill(void *dst, unsigned char byte, size_t n);
void malloc_copy(void *dst, const void *src, size_t n);

static inline uint32_t canary(const void *where, uint32_t size_flags)
{
	return ((uint32_t)((uintptr_t)where >> 3) * 0x9e3779b1u) ^ size_flags ^ CANARY_SEED;
}

static inline size_t csize(const struct chunk *c)
{
	return c->h.size & ~F_MASK;
}

static inline bool is_free(const struct chunk *c)
{
	return (c->h.size & F_FREE) != 0;
}

static inline bool tag_ok(const struct chunk *c)
{
	return c->h.canary == canary(c, c->h.size);
}

static inline struct tag *footer(struct chunk *c)
{
	return (struct tag *)((char *)c + csize(c) - TAG);
}

/* Writes c's header and footer. */
static inline void set_tags(struct chunk *c, size_t size, uint32_t flags)
{
	struct tag t;

	t.size = (uint32_t)size | flags;
	t.canary = canary(c, t.size);
	c->h = t;
	*(struct tag *)((char *)c + size - TAG) = t;
}

static inline struct chunk *first_chunk(struct arena *a)
{
	return (struct chunk *)((char *)a + ARENA_FIRST);
}

/* The arena whose first chunk is c (the inverse of first_chunk). */
static inline struct arena *chunk_arena(struct chunk *c)
{
	return (struct arena *)((char *)c - ARENA_FIRST);
}

/* The end fence: where the last chunk ends. */
static inline struct chunk *arena_fence(struct arena *a)
{
	return (struct chunk *)((char *)a + a->pages * PAGE_SIZE - TAG);
}

static inline size_t arena_span(struct arena *a)
{
	return a->pages * PAGE_SIZE - ARENA_FIRST - TAG;
}

/* A fence tag (front or end of an arena) is where it is claimed to be. */
static inline bool fence_ok(const struct tag *t)
{
	return t->size == F_FENCE && t->canary == canary(t, F_FENCE);
}

static inline void set_fence(struct tag *t)
{
	t->size = F_FENCE;
	t->canary = canary(t, F_FENCE);
}

/* c's footer is a copy of its header (c's size is trusted). */
static inline bool footer_ok(struct chunk *c)
{
	return footer(c)->size == c->h.size && footer(c)->canary == c->h.canary;
}

/*
 * The chunk after c if it is free, else NULL (also at the end of the
 * arena, where the end fence is never free). Panics if it is corrupted.
 */
static inline struct chunk *next_free(struct chunk *c)
{
	struct chunk *n = (struct chunk *)((char *)c + csize(c));

	if (!is_free(n))
		return NULL;
	if (!tag_ok(n))
		malloc_corrupt(n, "next chunk");
	return n;
}

/*
 * The chunk before c, found through its footer, if it is free, else NULL
 * (also at the start of the arena: the front fence is never free).
 */
static inline struct chunk *prev_free(struct chunk *c)
{
	struct tag *f = (struct tag *)c - 1;
	struct chunk *p;

	if (!(f->size & F_FREE))
		return NULL;
	p = (struct chunk *)((char *)c - (f->size & ~F_MASK));
	if (f->canary != canary(p, f->size) || p->h.size != f->size || p->h.canary != f->canary)
		malloc_corrupt(f, "footer of previous chunk");
	return p;
}

/*
 * Shrinks chunk c to `size` bytes if the rest is big enough to be a chunk;
 * returns that rest, tagged free but on no list, or NULL (c unchanged).
 * c keeps its flags.
 */
static inline struct chunk *chunk_split(struct chunk *c, size_t size)
{
	size_t rest = csize(c) - size;
	struct chunk *tail;

	if (rest < MIN_CHUNK)
		return NULL;
	set_tags(c, size, c->h.size & F_MASK);
	tail = (struct chunk *)((char *)c + size);
	set_tags(tail, rest, F_FREE);
	return tail;
}

/* The first byte of free chunk c's body that is not the poison, or NULL. */
static inline unsigned char *poison_broken(struct chunk *c)
{
	unsigned char *b = (unsigned char *)(c + 1), *end = (unsigned char *)footer(c);

	for (; b < end; b++)
		if (*b != MALLOC_POISON_BYTE)
			return b;
	return NULL;
}
//@ LAB 7 BEGIN

/* HEAP_LOCKED(): the heap's lock (malloc_pages.lock) held until the
 * enclosing block is left, by any return; nested calls (calloc calls
 * malloc) do not take it again. */
static inline int heap_lock(void)
{
	return malloc_pages.lock ? malloc_pages.lock() : 0;
}

static inline void heap_unlock(int *took)
{
	if (*took)
		malloc_pages.unlock();
}

#define HEAP_LOCKED()	int heap_took_ __attribute__((cleanup(heap_unlock))) = heap_lock()
//@ LAB 7 END

#endif
