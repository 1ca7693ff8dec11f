//@ LAB 6 FILE
/*
 * malloc's insides (2): size classes and the segregated free lists (see
 * SIZE CLASSES at the top of malloc.c). Static inline: the hot path.
 */
#ifndef STRATA_MM_MALLOC_CLASS_H
#define STRATA_MM_MALLOC_CLASS_H

#include "mm/malloc_chunk.h"

/* Size classes (see the top of the file). */
#define EXACT_MAX	1024
#define EXACT_CLASSES	(EXACT_MAX / ALIGN - 1)		/* 63: sizes 32 .. 1024 */
#define NCLASS		(EXACT_CLASSES + 6 * 4)		/* up to 2^16 bytes */
#define NWORDS		((NCLASS + 31) / 32)

/*
 * One circular doubly linked list per size class, through a sentinel that
 * is not a chunk: freelist[c].next is the first chunk of class c, or
 * &freelist[c] itself when there is none. No NULL checks when linking.
 * (malloc_class.c)
 */
extern struct chunk freelist[NCLASS];
extern uint32_t nonempty[NWORDS];	/* bit c: list c is not empty */
extern bool lists_ready;

/* Makes every list empty; malloc and malloc_check call it first. */
void lists_init(void);

static inline unsigned size_class(size_t size)
{
	unsigned b;

	if (size <= EXACT_MAX)
		return (unsigned)(size / ALIGN) - 2;
	b = 31 - (unsigned)__builtin_clz((uint32_t)size);	/* 10 .. 15 */
	return EXACT_CLASSES + (b - 10) * 4 + (unsigned)((size >> (b - 2)) & 3);
}

/* The first non-empty class >= cls, or NCLASS if there is none. */
static inline unsigned first_class_from(unsigned cls)
{
	unsigned w;
	uint32_t bits;

	for (w = cls / 32; w < NWORDS; w++) {
		bits = nonempty[w];
		if (w == cls / 32)
			bits &= ~0u << (cls % 32);
		if (bits != 0)
			return w * 32 + (unsigned)__builtin_ctz(bits);
	}
	return NCLASS;
}

static inline void freelist_insert(struct chunk *c)
{
	unsigned cls = size_class(csize(c));
	struct chunk *head = &freelist[cls];

	c->next = head->next;
	c->prev = head;
	head->next->prev = c;
	head->next = c;
	nonempty[cls / 32] |= 1u << (cls % 32);
}

/* The links live in freed memory: check them before writing through them. */
static inline void check_links(struct chunk *c)
{
	if (c->prev->next != c || c->next->prev != c)
		malloc_pages.panic("malloc: free list corrupted at %p (written after free?)", c);
}

static inline void freelist_remove(struct chunk *c)
{
	unsigned cls;

	check_links(c);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	if (c->next == c->prev) {	/* both are the sentinel: c was alone */
		cls = size_class(csize(c));
		nonempty[cls / 32] &= ~(1u << (cls % 32));
	}
}

/*
 * Free chunk n takes the place of free chunk c (whose header still gives
 * its old size) on the free lists. When both are of the same class, the
 * links are simply handed over.
 */
static inline void freelist_move(struct chunk *c, struct chunk *n)
{
	if (size_class(csize(n)) != size_class(csize(c))) {
		freelist_remove(c);
		freelist_insert(n);
		return;
	}
	check_links(c);
	n->next = c->next;
	n->prev = c->prev;
	n->prev->next = n;
	n->next->prev = n;
}

#endif
