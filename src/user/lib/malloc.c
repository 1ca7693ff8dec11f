//@ LAB 7 FILE
/*
 * malloc on sbrk: a first-fit free list of blocks, each with a header of
 * its size (in units of the header, 8 bytes) and, while free, the next
 * free block in address order; free coalesces with both neighbours.
 */
#include "user/lib/ulib.h"

struct header {
	struct header *next;	/* free list, address order */
	size_t units;		/* of this block, the header included */
};

static struct header *free_list;

#define MORE_UNITS	512	/* 4 KiB at least from each sbrk */

static void insert(struct header *b)
{
	struct header **pp = &free_list;

	while (*pp && *pp < b)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
	if (b->next && b + b->units == b->next) {	/* merge with the next */
		b->units += b->next->units;
		b->next = b->next->next;
	}
	if (pp != &free_list) {				/* and with the previous */
		struct header *prev = (struct header *)((char *)pp - offsetof(struct header, next));
		if (prev + prev->units == b) {
			prev->units += b->units;
			prev->next = b->next;
		}
	}
}

void *malloc(size_t n)
{
	size_t units = (n + sizeof(struct header) - 1) / sizeof(struct header) + 1;
	struct header **pp, *b;

	if (n == 0 || n > 0x10000000)
		return NULL;
	for (;;) {
		for (pp = &free_list; (b = *pp); pp = &b->next) {
			if (b->units < units)
				continue;
			if (b->units == units) {
				*pp = b->next;
			} else {
				b->units -= units;
				b += b->units;
				b->units = units;
			}
			return b + 1;
		}
		size_t more = units < MORE_UNITS ? MORE_UNITS : units;
		b = sbrk(more * sizeof(struct header));
		if ((intptr_t)b < 0 && (intptr_t)b > -4096)
			return NULL;
		b->units = more;
		insert(b);
	}
}

void free(void *p)
{
	if (p)
		insert((struct header *)p - 1);
}
