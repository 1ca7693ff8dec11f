//@ LAB 6 FILE
/*
 * malloc.c: the kernel heap (lab 6). malloc, calloc, realloc and free for
 * small kernel objects, on pages from a page source (malloc.h: kvmalloc
 * and kvfree in the kernel).
 *
 * ARENAS. The heap is a set of arenas: ARENA_PAGES (16) contiguous kernel
 * pages from kvmalloc, 64 KiB, carved into chunks that tile the arena:
 *
 *   arena start (page aligned)                                   arena end
 *   +--------------+----+---------+---------+-- ... --+---------+----+
 *   | struct arena | PF | chunk   | chunk   |         | chunk   | EF |
 *   +--------------+----+---------+---------+-- ... --+---------+----+
 *
 *   PF is a fence that looks like the footer of an allocated chunk, EF a
 *   fence that looks like the header of one: the first and last chunks
 *   need no special case when they look at their neighbours.
 *
 * A request larger than LARGE_MIN (a quarter of an arena) gets a region of
 * its own from kvmalloc, laid out the same way with exactly one chunk
 * (flag F_LARGE); freeing it gives the region straight back.
 *
 * CHUNKS. Every chunk is a multiple of 16 bytes, at least 32, and starts 8
 * bytes before a 16-byte boundary so that the pointer returned is 16-byte
 * aligned. Its first and last 8 bytes are boundary tags (header, footer):
 *
 *        allocated chunk                     free chunk
 *   c    +---------------------+        c    +---------------------+
 *        | size|flags | canary |  header     | size|FREE | canary  |
 *   c+8  +---------------------+ <- p   c+8  +---------------------+
 *        |                     |             | next free chunk     |  list
 *        | user data           |             | prev free chunk     |  links
 *        | (size - 16 bytes)   |             +---------------------+
 *        |                     |             | unused (0x6b with   |
 *        |                     |             |   malloc_poison)    |
 *        +---------------------+             +---------------------+
 *        | size|flags | canary |  footer     | size|FREE | canary  |
 *   c+size +-------------------+        c+size +-------------------+
 *
 * The footer is a copy of the header. "size" is the whole chunk in bytes;
 * its low 4 bits are flags (F_FREE, F_FENCE, F_LARGE). The canary is a hash
 * of the chunk's address and of size|flags, so a header that was overwritten,
 * a pointer that is not a chunk, and a size that disagrees with the footer
 * are all caught before they are used. The footer lets free find the chunk
 * before it (boundary tags), so free chunks are merged with both neighbours
 * at once.
 *
 * SIZE CLASSES. Free chunks sit on circular doubly linked lists (with a
 * sentinel), one per size class, and a bitmap says which lists are not
 * empty:
 *
 *   class  0 .. 62   one chunk size each: 32, 48, 64, ..., 1024 bytes
 *   class 63 .. 86   four classes per power of two, 1024 < size < 64 KiB:
 *                    (1024,1280) [1280,1536) [1536,1792) [1792,2048)
 *                    [2048,2560) ... [57344,65536)
 *
 * malloc looks in the class of the size it needs (first fit within the
 * class), then takes the first chunk of the next non-empty class (bitmap
 * search), which is bigger than needed, and splits it: the front is handed
 * out, the free rest takes the chunk's place on the lists. Both are O(1) or
 * O(number of classes). free tags the chunk free and merges it with a free
 * neighbour on either side at once (coalesce), so no two free chunks ever
 * touch; an arena that becomes wholly free goes back to kvfree, except one
 * kept in reserve (cached_empty).
 *
 * CHECKS. free and realloc first find the arena of the pointer in a hash
 * table (arena_of), without reading the pointed-to memory, then check the
 * header's canary, its free flag and the footer; what is wrong is named in
 * the panic. malloc_check checks every invariant of malloc.h.
 *
 * Invariants: see malloc.h. Not thread safe (lab 8 adds a lock).
 *
 * THE FILES. This one has the lab 6 exercises and malloc, calloc, realloc
 * and free. Given, beside it (private headers, one per part):
 *   malloc_chunk.[ch]  the layout, boundary tags and canaries (inline)
 *   malloc_class.[ch]  size classes and free lists (inline)
 *   malloc_arena.[ch]  arena lifecycle, the pointer-to-arena hash
 *   malloc_check.[ch]  checked_chunk and its diagnosis; malloc_walk,
 *                      malloc_stats, malloc_check
 *   malloc_kernel.c    the kernel's page source, the heap monitor command
 */
#include "mm/malloc_arena.h"
#include "mm/malloc_check.h"
#include "mm/malloc_class.h"
//@ LAB 8 BEGIN
#include "mm/malloc_cache.h"
//@ LAB 8 END

int malloc_poison;

/* ---- the lab 6 exercises ----------------------------------------------------- */

/*
 * LAB 6 exercise 1. Find a free chunk of at least `need` bytes (a multiple
 * of 16, at least MIN_CHUNK) and return it tagged in use (set_tags, no
 * flags) and off the free lists, or return NULL if no free chunk is big
 * enough. Look in need's own class first (first fit), then take the first
 * chunk of the next non-empty class (first_class_from). If the chunk has
 * at least MIN_CHUNK bytes more than need, split them off: that tail is a
 * free chunk that takes the chunk's place on the lists (freelist_move).
 */
static struct chunk *find_fit(size_t need)
{
	//@ LAB 6 BEGIN
	unsigned cls = size_class(need);
	struct chunk *c, *tail;

	for (c = freelist[cls].next; c != &freelist[cls]; c = c->next)
		if (csize(c) >= need)
			break;
	if (c == &freelist[cls]) {
		/* Every chunk in a higher class is bigger than need. */
		cls = first_class_from(cls + 1);
		if (cls >= NCLASS)
			return NULL;
		c = freelist[cls].next;
	}
	if (csize(c) - need < MIN_CHUNK) {
		freelist_remove(c);
		set_tags(c, csize(c), 0);
		return c;
	}
	tail = (struct chunk *)((char *)c + need);
	set_tags(tail, csize(c) - need, F_FREE);
	freelist_move(c, tail);
	set_tags(c, need, 0);
	return c;
	//@ LAB 6 STUB
	//@ /* LAB 6 exercise 1: search the segregated free lists and split (handouts/lab6-malloc.md). */
	//@ (void)need;
	//@ return NULL;
	//@ LAB 6 END
}

/*
 * LAB 6 exercise 2. Chunk c has just been tagged free (it is on no list).
 * Merge it with the chunk after it and the chunk before it when those are
 * free (next_free, prev_free, freelist_remove), and return the merged
 * chunk, tagged free and on no list.
 */
static struct chunk *coalesce(struct chunk *c)
{
	//@ LAB 6 BEGIN
	struct chunk *next = next_free(c);
	struct chunk *prev = prev_free(c);
	size_t size = csize(c);

	if (next != NULL) {
		freelist_remove(next);
		size += csize(next);
	}
	if (prev != NULL) {
		freelist_remove(prev);
		size += csize(prev);
		c = prev;
	}
	set_tags(c, size, F_FREE);
	return c;
	//@ LAB 6 STUB
	//@ /* LAB 6 exercise 2: merge with free neighbours, both directions (handouts/lab6-malloc.md). */
	//@ return c;
	//@ LAB 6 END
}

/* Chunk m is the only chunk of its arena: fences on both sides. */
static inline bool spans_arena(struct chunk *m)
{
	return (((struct tag *)m - 1)->size & F_FENCE) &&
	       (((struct chunk *)((char *)m + csize(m)))->h.size & F_FENCE);
}

/* Poison the bytes of [from, to) (malloc_poison). */
static void poison(void *from, void *to)
{
	if ((char *)to > (char *)from)
		malloc_fill(from, MALLOC_POISON_BYTE, (size_t)((char *)to - (char *)from));
}

static bool arena_release(struct arena *a);

/*
 * Frees allocated chunk c of an arena: tag it free, merge it with its free
 * neighbours, and put the result on its free list, or give its arena back
 * if the arena is now empty.
 */
static void free_chunk(struct chunk *c)
{
	size_t size = csize(c);
	char *end = (char *)c + size;
	struct chunk *m;

	set_tags(c, size, F_FREE);
	if (malloc_poison)
		poison(c + 1, end - TAG);
	m = coalesce(c);
	if (malloc_poison) {
		/* Tags and links that are now inside m are free bytes too. */
		if (m != c)
			poison((char *)c - TAG, c + 1);
		if ((char *)m + csize(m) != end)
			poison(end - TAG, (struct chunk *)end + 1);
	}
	if (spans_arena(m) && arena_release(chunk_arena(m)))
		return;
	freelist_insert(m);
}

/*
 * LAB 6 exercise 3. Resize allocated chunk c to `need` bytes without moving
 * it. Shrinking: split off the tail and free it (free_chunk), so it merges
 * with a free chunk after it. Growing: if the next chunk is free and the two
 * together are big enough, take the next chunk in, then split off what is
 * beyond need. Return false if c cannot be resized in place.
 */
static bool resize_in_place(struct chunk *c, size_t need)
{
	//@ LAB 6 BEGIN
	size_t size = csize(c);
	struct chunk *next, *tail;

	if (need > size) {
		next = next_free(c);
		if (next == NULL || size + csize(next) < need)
			return false;
		freelist_remove(next);
		set_tags(c, size + csize(next), c->h.size & F_MASK);
	}
	tail = chunk_split(c, need);
	if (tail != NULL)
		free_chunk(tail);
	return true;
	//@ LAB 6 STUB
	//@ /* LAB 6 exercise 3: realloc in place, shrink and grow (handouts/lab6-malloc.md). */
	//@ (void)c;
	//@ (void)need;
	//@ return false;
	//@ LAB 6 END
}

/*
 * LAB 6 exercise 4. Arena a has just become wholly free: its one chunk
 * spans it and is on no list. Keep it if no other empty arena is kept
 * (cached_empty), so that malloc/free at the edge of an arena does not
 * call the page source every time; otherwise give it back (arena_destroy).
 * Return true if it was given back.
 */
static bool arena_release(struct arena *a)
{
	//@ LAB 6 BEGIN
	if (cached_empty == NULL || cached_empty == a) {
		cached_empty = a;
		return false;
	}
	arena_destroy(a);
	return true;
	//@ LAB 6 STUB
	//@ /* LAB 6 exercise 4: give empty arenas back, keep one (handouts/lab6-malloc.md). */
	//@ (void)a;
	//@ return false;
	//@ LAB 6 END
}

/* ---- malloc, free, realloc -------------------------------------------------- */

/* The chunk size for an n-byte request, or 0 if n is too big. */
static inline size_t chunk_size(size_t n)
{
	size_t need;

	if (n > MALLOC_MAX)
		return 0;
	need = (n + 2 * TAG + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	return need < MIN_CHUNK ? MIN_CHUNK : need;
}

static inline size_t large_pages(size_t need)
{
	return (ARENA_FIRST + need + TAG + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* A large block (need > LARGE_MIN), heap lock held: its chunk (F_LARGE),
 * or NULL. */
static struct chunk *large_alloc(size_t need)
{
	struct arena *a = arena_create(large_pages(need), true);

	//@ LAB 8 BEGIN
	/* Memory pressure: give the caches' pages back and try again. */
	if (a == NULL && mcache_pressure() > 0)
		a = arena_create(large_pages(need), true);
	//@ LAB 8 END

	return a != NULL ? first_chunk(a) : NULL;
}

/* Checks that nothing wrote to free chunk c since it was poisoned. */
static void poison_check(struct chunk *c)
{
	unsigned char *b = poison_broken(c);

	if (b != NULL)
		malloc_pages.panic("malloc: chunk %p modified after free (byte at %p is 0x%x)", c, b, *b);
}

/* A new arena with a chunk of `need` bytes taken from it, or NULL. */
static struct chunk *grow(size_t need)
{
	struct arena *a = arena_create(ARENA_PAGES, false);
	struct chunk *c;

	//@ LAB 8 BEGIN
	if (a == NULL && mcache_pressure() > 0)
		a = arena_create(ARENA_PAGES, false);
	//@ LAB 8 END

	if (a == NULL)
		return NULL;
	freelist_insert(first_chunk(a));
	c = find_fit(need);
	if (c == NULL) {	/* only while find_fit is still a stub */
		freelist_remove(first_chunk(a));
		arena_destroy(a);
	}
	return c;
}

/*
 * The coalescing heap's malloc: a chunk of `need` bytes (a multiple of 16,
 * MIN_CHUNK .. LARGE_MIN) tagged in use, or NULL. Heap lock held.
 */
struct chunk *heap_alloc(size_t need)
{
	struct chunk *c;

	if (!lists_ready)
		lists_init();
	c = find_fit(need);

	//@ LAB 8 BEGIN
	/* Before the heap grows, the magazines' chunks come back, coalesced
	 * (mcache_flush_for), until the chunk fits: the heap grows only when
	 * all of this CPU's are empty and it still does not fit. */
	while (c == NULL && mcache_flush_for(need) > 0)
		c = find_fit(need);
	//@ LAB 8 END

	if (c == NULL && (c = grow(need)) == NULL)
		return NULL;
	if (cached_empty != NULL && c == first_chunk(cached_empty))
		cached_empty = NULL;		/* the kept empty arena is in use again */
	return c;
}

/* malloc's heap path (heap lock taken here): the chunk, or NULL. Out of
 * line, so that the magazine path in malloc saves no registers. */
static __attribute__((noinline)) struct chunk *heap_malloc(size_t n)
{
	size_t need = chunk_size(n);
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END

	malloc_op.name = NULL;
	if (need == 0)
		return NULL;
	if (need > LARGE_MIN)
		return large_alloc(need);
	return heap_alloc(need);
}

void *malloc(size_t n)
{
	struct chunk *c;

	//@ LAB 8 BEGIN
	/* Small: this CPU's magazine, without the heap's lock. n is far below
	 * MALLOC_MAX there, so chunk_size's check is not needed. */
	if (n <= MCACHE_MAX - 2 * TAG && mcache_on)
		return mcache_malloc(n + 2 * TAG <= MIN_CHUNK ? MIN_CHUNK
				     : (n + 2 * TAG + ALIGN - 1) & ~(size_t)(ALIGN - 1));
	//@ LAB 8 END

	if ((c = heap_malloc(n)) == NULL)
		return NULL;
	/* The chunk is ours now: checked outside the lock, and from malloc's
	 * own frame (a panic's backtrace names malloc). */
	if (malloc_poison && !(c->h.size & F_LARGE))
		poison_check(c);
	return (char *)c + TAG;
}

void *calloc(size_t n, size_t size)
{
	void *p;
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = malloc(n * size);
	if (p != NULL)
		malloc_fill(p, 0, n * size);
	return p;
}

/* The coalescing heap's free of c, which checked_chunk returned (heap
 * lock held). */
void heap_free(struct chunk *c)
{
	if (c->h.size & F_LARGE)
		arena_destroy(chunk_arena(c));
	else
		free_chunk(c);
}

/* Frees c, which checked_chunk returned. */
static void free_checked(struct chunk *c)
{
	//@ LAB 8 BEGIN
	if (csize(c) <= MCACHE_MAX && mcache_on) {	/* (a large block is bigger) */
		mcache_free(c);
		return;
	}
	//@ LAB 8 END

	heap_free(c);
}

/* free's heap path (heap lock taken here): out of line, as heap_malloc. */
static __attribute__((noinline)) void heap_free_ptr(void *p)
{
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END
	if (p == NULL)
		return;
	free_checked(checked_chunk(p, "free"));
}

void free(void *p)
{
	//@ LAB 8 BEGIN
	struct chunk *c;

	/* Small: into this CPU's magazine, without the heap's lock (the
	 * checks read the arena hash as arena_of_unlocked allows). Anything
	 * else, a bad pointer too, goes the heap's way, whose checked_chunk
	 * looks again and says what is wrong. */
	if (p != NULL && mcache_on && (c = cacheable_chunk(p)) != NULL) {
		mcache_free(c);
		return;
	}
	//@ LAB 8 END

	heap_free_ptr(p);
}

void *realloc(void *p, size_t n)
{
	struct chunk *c;
	size_t need, old;
	void *q;
	//@ LAB 7 BEGIN
	HEAP_LOCKED();
	//@ LAB 7 END

	if (p == NULL)
		return malloc(n);
	c = checked_chunk(p, "realloc");
	if (n == 0) {
		free_checked(c);
		return NULL;
	}
	need = chunk_size(n);
	if (need == 0)
		return NULL;
	if (c->h.size & F_LARGE) {
		/* In place only if it needs exactly the pages it has: pages
		 * that would be left unused must go back to the page source. */
		if (large_pages(need) == chunk_arena(c)->pages)
			return p;
	} else if (need <= LARGE_MIN && resize_in_place(c, need)) {
		return p;
	}
	old = csize(c) - 2 * TAG;
	if ((q = malloc(n)) == NULL)
		return NULL;
	malloc_copy(q, p, old < n ? old : n);
	free_checked(c);
	return q;
}
