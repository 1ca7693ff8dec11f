//@ LAB 6 FILE
/*
 * malloc's checks: the pointers given to free and realloc (checked_chunk,
 * with the diagnosis of a bad one), the heap walk and its statistics, and
 * malloc_check, which checks every invariant of malloc.h.
 */
#include "mm/malloc_arena.h"
#include "mm/malloc_check.h"
#include "mm/malloc_class.h"
//@ LAB 8 BEGIN
#include "mm/malloc_cache.h"
//@ LAB 8 END

/* ---- checking pointers given to free and realloc ------------------------- */

void malloc_misuse(const char *why)
{
	malloc_pages.panic("malloc: %s(%p): %s", malloc_op.name, malloc_op.ptr, why);
}

/*
 * p's header is not a valid allocated chunk's: find out why by walking
 * arena a from its start. Either p is inside a chunk (a free one: it was
 * freed and merged into its neighbour, so this is a double free), or the
 * walk meets a broken header at or before p.
 */
void malloc_diagnose(struct arena *a, void *p)
{
	struct chunk *c = (struct chunk *)((char *)p - TAG);
	struct chunk *q = first_chunk(a), *end = arena_fence(a);

	while (q < end) {
		if (!tag_ok(q) || csize(q) < MIN_CHUNK || (char *)q + csize(q) > (char *)end) {
			if (q == c)
				malloc_misuse("corrupted chunk header");
			malloc_pages.panic("malloc: %s(%p): corrupted chunk header at %p (before it)",
					   malloc_op.name, malloc_op.ptr, q);
		}
		if (c < (struct chunk *)((char *)q + csize(q)))
			malloc_misuse(is_free(q) ? "double free" : "not a malloc'd pointer");
		q = (struct chunk *)((char *)q + csize(q));
	}
	malloc_misuse("not a malloc'd pointer");
}

/* ---- walking, statistics, checking ------------------------------------- */

void malloc_walk(void (*fn)(void *arg, void *chunk_start, size_t size, int is_free),
		 void *arg)
{
	struct arena *a;
	struct chunk *c, *end;
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END

	malloc_op.name = NULL;
	for (a = arenas; a != NULL; a = a->next) {
		end = arena_fence(a);
		for (c = first_chunk(a); c < end; c = (struct chunk *)((char *)c + csize(c))) {
			if (!tag_ok(c) || csize(c) < MIN_CHUNK)
				malloc_corrupt(c, "heap walk");
			fn(arg, c, csize(c), is_free(c));
		}
	}
}

static void stats_chunk(void *arg, void *chunk_start, size_t size, int isfree)
{
	struct malloc_stats *st = arg;

	(void)chunk_start;
	st->chunks++;
	if (isfree) {
		st->free_chunks++;
		st->free_bytes += size;
	} else {
		st->used_bytes += size;
	}
}

void malloc_stats(struct malloc_stats *st)
{
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END
	st->pages = heap_pages;
	st->used_bytes = st->free_bytes = st->chunks = st->free_chunks = 0;
	malloc_walk(stats_chunk, st);
}

static void __attribute__((noreturn)) check_fail(const void *where, const char *why)
{
	malloc_pages.panic("malloc: check: %s at %p", why, where);
}

int malloc_check(void)
{
	struct arena *a;
	struct chunk *c, *prev, *end;
	unsigned char *bad;
	size_t pages = 0, nfree = 0, nlisted = 0;
	unsigned cls;
	//@ LAB 8 BEGIN
	size_t ncached = 0;
	//@ LAB 8 END

	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END

	malloc_op.name = NULL;
	for (a = arenas; a != NULL; a = a->next) {
		if (a->magic != (a->large ? LARGE_MAGIC : ARENA_MAGIC) || a->pages == 0)
			check_fail(a, "bad arena header");
		if (a->next != NULL && (a->next <= a || a->next->prev != a))
			check_fail(a, "arena list out of order");
		if (arena_of((char *)first_chunk(a) + TAG) != a ||
		    (!a->large && arena_of((char *)arena_fence(a) - 1) != a))
			check_fail(a, "arena not found by its addresses");
		if (!fence_ok((struct tag *)first_chunk(a) - 1) || !fence_ok(&arena_fence(a)->h))
			check_fail(a, "bad arena fence");
		pages += a->pages;
		end = arena_fence(a);
		prev = NULL;
		for (c = first_chunk(a); c < end; prev = c, c = (struct chunk *)((char *)c + csize(c))) {
			if (!tag_ok(c))
				check_fail(c, "bad chunk header");
			if (csize(c) < MIN_CHUNK || csize(c) % ALIGN != 0 ||
			    (char *)c + csize(c) > (char *)end)
				check_fail(c, "bad chunk size");
			//@ LAB 8 BEGIN
			if (!a->large && (c->h.size & F_MASK) == F_CACHED) {
				/* its footer is still the allocated chunk's */
				if (footer(c)->size != csize(c) ||
				    footer(c)->canary != canary(c, (uint32_t)csize(c)))
					check_fail(c, "cached chunk's footer broken");
				ncached++;
				continue;
			}
			//@ LAB 8 END

			if (!footer_ok(c))
				check_fail(c, "footer differs from header");
			if ((c->h.size & F_MASK) != (a->large ? F_LARGE : 0) &&
			    (a->large || (c->h.size & F_MASK) != F_FREE))
				check_fail(c, "bad chunk flags");
			if (!is_free(c))
				continue;
			nfree++;
			if (prev != NULL && is_free(prev))
				check_fail(c, "two free chunks side by side");
			if (malloc_poison && (bad = poison_broken(c)) != NULL)
				check_fail(bad, "free chunk modified (poison)");
		}
		if (c != end)
			check_fail(c, "chunks overrun the arena end");
	}
	//@ LAB 8 BEGIN
	pages += parked * ARENA_PAGES;
	if (mcache_check() != ncached)
		check_fail(arenas, "cached chunks differ from the magazines");
	//@ LAB 8 END

	if (pages != heap_pages)
		check_fail(arenas, "page count differs");
	if (cached_empty != NULL && (cached_empty->large || first_chunk(cached_empty)->h.size !=
				     (arena_span(cached_empty) | F_FREE)))
		check_fail(cached_empty, "kept arena is not empty");

	if (!lists_ready)
		lists_init();
	for (cls = 0; cls < NCLASS; cls++) {
		struct chunk *head = &freelist[cls];
		bool bit = (nonempty[cls / 32] >> (cls % 32)) & 1;
		if (bit != (head->next != head))
			check_fail(head, "class bitmap differs from the lists");
		for (prev = head, c = head->next; c != head; prev = c, c = c->next) {
			if (++nlisted > nfree)
				check_fail(c, "free lists hold more chunks than the arenas");
			a = arena_of((char *)c + TAG);
			if (a == NULL || a->large || !tag_ok(c) || !is_free(c))
				check_fail(c, "listed chunk is not a free chunk");
			if (size_class(csize(c)) != cls)
				check_fail(c, "chunk on the wrong class list");
			if (c->prev != prev)
				check_fail(c, "bad back link");
		}
	}
	if (nlisted != nfree)
		check_fail(arenas, "free chunk missing from the free lists");
	return 0;
}
