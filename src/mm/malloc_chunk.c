//@ LAB 6 FILE
/*
 * malloc's insides (1), the part that is not inline: the call being
 * checked, the panic for a broken tag, and the byte loops.
 */
#include "mm/malloc_chunk.h"

struct malloc_op malloc_op;

void malloc_corrupt(const void *where, const char *what)
{
	if (malloc_op.name != NULL)
		malloc_pages.panic("malloc: %s(%p): corrupted chunk header at %p: %s",
				   malloc_op.name, malloc_op.ptr, where, what);
	malloc_pages.panic("malloc: corrupted chunk header at %p: %s", where, what);
}

/* The empty asm keeps the compiler from turning the loops back into
 * memset/memcpy calls. */
typedef uintptr_t __attribute__((may_alias)) word_t;
#define NO_LIBCALL()	__asm__ volatile("" ::: "memory")

void malloc_fill(void *dst, unsigned char byte, size_t n)
{
	unsigned char *d = dst;
	word_t w = (word_t)-1 / 255 * byte;

	while (n > 0 && (uintptr_t)d % sizeof(word_t) != 0) {
		*d++ = byte;
		n--;
	}
	while (n >= sizeof(word_t)) {
		*(word_t *)d = w;
		d += sizeof(word_t);
		n -= sizeof(word_t);
		NO_LIBCALL();
	}
	while (n > 0) {
		*d++ = byte;
		n--;
		NO_LIBCALL();
	}
}

void malloc_copy(void *dst, const void *src, size_t n)
{
	word_t *d = dst;
	const word_t *s = src;
	unsigned char *db;
	const unsigned char *sb;

	while (n >= sizeof(word_t)) {
		*d++ = *s++;
		n -= sizeof(word_t);
		NO_LIBCALL();
	}
	db = (unsigned char *)d;
	sb = (const unsigned char *)s;
	while (n > 0) {
		*db++ = *sb++;
		n--;
		NO_LIBCALL();
	}
}
