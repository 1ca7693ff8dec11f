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

/* Both word aligned (chunk payloads): the words with one `rep movs`, the
 * CPU's own block copy (x86 only, as the whole kernel), then the bytes. */
void malloc_copy(void *dst, const void *src, size_t n)
{
	size_t words = n / sizeof(word_t);
	unsigned char *db;
	const unsigned char *sb;

#if defined(__x86_64__)
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
#else
	__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
#endif
	db = dst;
	sb = src;
	for (n %= sizeof(word_t); n > 0; n--) {
		*db++ = *sb++;
		NO_LIBCALL();
	}
}
