//@ LAB 6 FILE
/*
 * malloc.c: the kernel heap (lab 6). malloc, calloc, realloc and free for
 * small kernel objects, on top of kvmalloc/kvfree.
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
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "mm/malloc.h"

#define PAGE_SIZE	4096
#define ARENA_PAGES	16
#define ARENA_BYTES	(ARENA_PAGES * PAGE_SIZE)
#define LARGE_MIN	(ARENA_BYTES / 4)	/* chunks bigger than this get their own region */

#define ALIGN		MALLOC_ALIGN
#define TAG		8			/* sizeof(struct tag) */
#define MIN_CHUNK	32			/* header, two list links, footer */

#define F_FREE		1u
#define F_FENCE		2u
#define F_LARGE		4u
#define F_MASK		15u

#define CANARY_SEED	0x5a17c0deu
#define ARENA_MAGIC	0xa4e4a600u
#define LARGE_MAGIC	0xa4e4a61au

/* Size classes (see the top of the file). */
#define EXACT_MAX	1024
#define EXACT_CLASSES	(EXACT_MAX / ALIGN - 1)		/* 63: sizes 32 .. 1024 */
#define NCLASS		(EXACT_CLASSES + 6 * 4)		/* up to 2^16 bytes */
#define NWORDS		((NCLASS + 31) / 32)

/* Arenas are found from a pointer through a hash of their 64 KiB "slots". */
#define SLOT_SHIFT	16
#define NBUCKET		256

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

struct bucket {
	struct slotent e[2];
	struct slotlink *more;
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

int malloc_poison;

/*
 * One circular doubly linked list per size class, through a sentinel that
 * is not a chunk: freelist[c].next is the first chunk of class c, or
 * &freelist[c] itself when there is none. No NULL checks when linking.
 */
static struct chunk freelist[NCLASS];
static uint32_t nonempty[NWORDS];	/* bit c: list c is not empty */
static bool lists_ready;
static struct arena *arenas;		/* sorted by address */
static struct bucket bucket[NBUCKET];
static struct arena *cached_empty;	/* the one wholly free arena kept, or NULL */
static size_t heap_pages;

/* What is being checked, for panic messages: "free"/"realloc" and its argument. */
static const char *op_name;
static void *op_ptr;

/* ---- small helpers ------------------------------------------------------ */

/* Our own memset/memcpy (malloc.c uses no C library). The empty asm keeps
 * the compiler from turning the loops back into memset/memcpy calls. */
typedef uintptr_t __attribute__((may_alias)) word_t;
#define NO_LIBCALL()	__asm__ volatile("" ::: "memory")

static void fill(void *dst, unsigned char byte, size_t n)
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

/* Both pointers word aligned (they are chunk payloads). */
static void copy(void *dst, const void *src, size_t n)
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

static void __attribute__((noreturn)) corrupt(const void *where, const char *what)
{
	if (op_name != NULL)
		panic("malloc: %s(%p): corrupted chunk header at %p: %s",
		      op_name, op_ptr, where, what);
	panic("malloc: corrupted chunk header at %p: %s", where, what);
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
		corrupt(n, "next chunk");
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
		corrupt(f, "footer of previous chunk");
	return p;
}

/* ---- size classes and free lists ----------------------------------------- */

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

static void lists_init(void)
{
	unsigned cls;

	for (cls = 0; cls < NCLASS; cls++)
		freelist[cls].next = freelist[cls].prev = &freelist[cls];
	lists_ready = true;
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
		panic("malloc: free list corrupted at %p (written after free?)", c);
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

/*
 * Shrinks chunk c to `size` bytes if the rest is big enough to be a chunk;
 * returns that rest, tagged free but on no list, or NULL (c unchanged).
 * c keeps its flags.
 */
static inline struct chunk *split(struct chunk *c, size_t size)
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

/* ---- arenas ---------------------------------------------------------------- */

/* An arena (not a large block, found by its one pointer) that crosses a
 * slot boundary is hashed under both slots. */
static bool second_slot(const struct arena *a)
{
	uintptr_t start = (uintptr_t)a, end = start + a->pages * PAGE_SIZE;

	return !a->large && (start >> SLOT_SHIFT) != ((end - 1) >> SLOT_SHIFT);
}

/* Enters a->link[i] under the slot of address key. */
static void hash_insert(struct arena *a, int i, uintptr_t key)
{
	struct bucket *b = &bucket[(key >> SLOT_SHIFT) % NBUCKET];
	int j;

	for (j = 0; j < 2; j++) {
		if (b->e[j].len == 0) {
			b->e[j] = a->link[i].ent;
			return;
		}
	}
	a->link[i].next = b->more;
	b->more = &a->link[i];
}

static void hash_remove(struct arena *a, int i, uintptr_t key)
{
	struct bucket *b = &bucket[(key >> SLOT_SHIFT) % NBUCKET];
	struct slotlink **pp;
	int j;

	for (j = 0; j < 2; j++) {
		if (b->e[j].len != 0 && b->e[j].arena == a) {
			b->e[j].len = 0;
			if (b->more != NULL) {		/* a chained entry moves in */
				b->e[j] = b->more->ent;
				b->more = b->more->next;
			}
			return;
		}
	}
	for (pp = &b->more; *pp != &a->link[i]; pp = &(*pp)->next)
		;
	*pp = a->link[i].next;
}

/*
 * The arena whose chunks p points into, or the large block whose pointer p
 * is; NULL if none. Reads only the hash table, never the memory at p, so
 * a wild pointer is safe to look up.
 */
static struct arena *arena_of(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	struct bucket *b = &bucket[(x >> SLOT_SHIFT) % NBUCKET];
	struct slotlink *l;

	if (x - b->e[0].lo < b->e[0].len)
		return b->e[0].arena;
	if (x - b->e[1].lo < b->e[1].len)
		return b->e[1].arena;
	for (l = b->more; l != NULL; l = l->next)
		if (x - l->ent.lo < l->ent.len)
			return l->ent.arena;
	return NULL;
}

/*
 * Maps `pages` new pages and lays them out as an arena with one chunk
 * spanning it, tagged free (on no list yet) or, for a large block, F_LARGE.
 */
static struct arena *arena_create(size_t pages, bool large)
{
	uintptr_t start, end;
	struct arena *a, *prev, *next;
	struct chunk *c;
	size_t got;

	got = kvmalloc(pages, pages, &start);
	if (got == 0)
		return NULL;
	if (got != pages) {		/* not what we asked for: don't use it */
		kvfree(start, got);
		return NULL;
	}
	a = (struct arena *)start;
	end = start + pages * PAGE_SIZE;
	a->magic = large ? LARGE_MAGIC : ARENA_MAGIC;
	a->large = large;
	a->pages = pages;

	/* The two fences, then one chunk in between. */
	c = first_chunk(a);
	set_fence((struct tag *)c - 1);
	set_fence(&arena_fence(a)->h);
	set_tags(c, arena_span(a), large ? F_LARGE : F_FREE);
	if (!large && malloc_poison)
		fill(c + 1, MALLOC_POISON_BYTE, arena_span(a) - sizeof(struct chunk) - TAG);

	/* Findable from a pointer: an arena by every pointer into its chunks,
	 * hashed under each 64 KiB slot it overlaps; a large block by its one
	 * pointer only. */
	a->link[0].ent.arena = a;
	a->link[0].ent.lo = (uintptr_t)c + TAG;
	a->link[0].ent.len = large ? 1 : (uintptr_t)arena_fence(a) - ((uintptr_t)c + TAG);
	a->link[1].ent = a->link[0].ent;
	hash_insert(a, 0, start);
	if (second_slot(a))
		hash_insert(a, 1, end - 1);

	/* Keep the arena list in address order (malloc_walk's order). */
	for (prev = NULL, next = arenas; next != NULL && (uintptr_t)next < start; next = next->next)
		prev = next;
	a->prev = prev;
	a->next = next;
	if (prev != NULL)
		prev->next = a;
	else
		arenas = a;
	if (next != NULL)
		next->prev = a;

	heap_pages += pages;
	return a;
}

/* Gives arena a back to kvfree. Its chunks must be on no free list. */
static void arena_destroy(struct arena *a)
{
	uintptr_t start = (uintptr_t)a, end = start + a->pages * PAGE_SIZE;
	size_t pages = a->pages;

	hash_remove(a, 0, start);
	if (second_slot(a))
		hash_remove(a, 1, end - 1);
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		arenas = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	if (cached_empty == a)
		cached_empty = NULL;
	a->magic = 0;
	heap_pages -= pages;
	kvfree(start, pages);
}

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

/* The first byte of free chunk c's body that is not the poison, or NULL. */
static unsigned char *poison_broken(struct chunk *c)
{
	unsigned char *b = (unsigned char *)(c + 1), *end = (unsigned char *)footer(c);

	for (; b < end; b++)
		if (*b != MALLOC_POISON_BYTE)
			return b;
	return NULL;
}

/* Poison the bytes of [from, to) (malloc_poison). */
static void poison(void *from, void *to)
{
	if ((char *)to > (char *)from)
		fill(from, MALLOC_POISON_BYTE, (size_t)((char *)to - (char *)from));
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
	tail = split(c, need);
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
 * call kvmalloc/kvfree every time; otherwise give it back (arena_destroy).
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

/* ---- checking pointers given to free and realloc ------------------------- */

static void __attribute__((noreturn)) bad_pointer(const char *why)
{
	panic("malloc: %s(%p): %s", op_name, op_ptr, why);
}

/*
 * p's header is not a valid allocated chunk's: find out why by walking
 * arena a from its start. Either p is inside a chunk (a free one: it was
 * freed and merged into its neighbour, so this is a double free), or the
 * walk meets a broken header at or before p.
 */
static void __attribute__((noreturn)) diagnose(struct arena *a, void *p)
{
	struct chunk *c = (struct chunk *)((char *)p - TAG);
	struct chunk *q = first_chunk(a), *end = arena_fence(a);

	while (q < end) {
		if (!tag_ok(q) || csize(q) < MIN_CHUNK || (char *)q + csize(q) > (char *)end) {
			if (q == c)
				bad_pointer("corrupted chunk header");
			panic("malloc: %s(%p): corrupted chunk header at %p (before it)",
			      op_name, op_ptr, q);
		}
		if (c < (struct chunk *)((char *)q + csize(q)))
			bad_pointer(is_free(q) ? "double free" : "not a malloc'd pointer");
		q = (struct chunk *)((char *)q + csize(q));
	}
	bad_pointer("not a malloc'd pointer");
}

/*
 * The chunk of pointer p that op ("free" or "realloc") was given; panics
 * if p is not a pointer malloc returned and that is still allocated.
 */
static struct chunk *checked_chunk(void *p, const char *op)
{
	struct chunk *c = (struct chunk *)((char *)p - TAG);
	struct arena *a;

	op_name = op;
	op_ptr = p;
	if ((uintptr_t)p % ALIGN != 0)
		bad_pointer("not a malloc'd pointer");
	if ((a = arena_of(p)) == NULL)
		bad_pointer("not a malloc'd pointer (or one freed already, whose memory "
			    "went back to kvfree)");
	/* The canary covers the address, size and flags: if it is right,
	 * c is a chunk and its size can be trusted. */
	if (!tag_ok(c))
		diagnose(a, p);
	if (c->h.size & F_FREE)
		bad_pointer("double free");
	if (!footer_ok(c))
		bad_pointer("corrupted chunk header (footer differs: buffer overrun?)");
	return c;
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

static void *large_alloc(size_t need)
{
	struct arena *a = arena_create(large_pages(need), true);

	return a != NULL ? (char *)first_chunk(a) + TAG : NULL;
}

/* Checks that nothing wrote to free chunk c since it was poisoned. */
static void poison_check(struct chunk *c)
{
	unsigned char *b = poison_broken(c);

	if (b != NULL)
		panic("malloc: chunk %p modified after free (byte at %p is 0x%x)", c, b, *b);
}

void *malloc(size_t n)
{
	size_t need = chunk_size(n);
	struct chunk *c;
	struct arena *a;

	op_name = NULL;
	if (!lists_ready)
		lists_init();
	if (need == 0)
		return NULL;
	if (need > LARGE_MIN)
		return large_alloc(need);
	c = find_fit(need);
	if (c == NULL) {
		if ((a = arena_create(ARENA_PAGES, false)) == NULL)
			return NULL;
		freelist_insert(first_chunk(a));
		c = find_fit(need);
		if (c == NULL) {	/* only while find_fit is still a stub */
			freelist_remove(first_chunk(a));
			arena_destroy(a);
			return NULL;
		}
	}
	if (cached_empty != NULL && c == first_chunk(cached_empty))
		cached_empty = NULL;		/* the kept empty arena is in use again */
	if (malloc_poison)
		poison_check(c);
	return (char *)c + TAG;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = malloc(n * size);
	if (p != NULL)
		fill(p, 0, n * size);
	return p;
}

/* Frees the checked chunk c. */
static void release(struct chunk *c)
{
	if (c->h.size & F_LARGE)
		arena_destroy(chunk_arena(c));
	else
		free_chunk(c);
}

void free(void *p)
{
	if (p == NULL)
		return;
	release(checked_chunk(p, "free"));
}

void *realloc(void *p, size_t n)
{
	struct chunk *c;
	size_t need, old;
	void *q;

	if (p == NULL)
		return malloc(n);
	c = checked_chunk(p, "realloc");
	if (n == 0) {
		release(c);
		return NULL;
	}
	need = chunk_size(n);
	if (need == 0)
		return NULL;
	if (c->h.size & F_LARGE) {
		/* In place only if it needs exactly the pages it has: pages
		 * that would be left unused must go back to kvfree. */
		if (large_pages(need) == chunk_arena(c)->pages)
			return p;
	} else if (need <= LARGE_MIN && resize_in_place(c, need)) {
		return p;
	}
	old = csize(c) - 2 * TAG;
	if ((q = malloc(n)) == NULL)
		return NULL;
	copy(q, p, old < n ? old : n);
	release(c);
	return q;
}

/* ---- statistics, walking, checking -------------------------------------------- */

void malloc_walk(void (*fn)(void *arg, void *chunk_start, size_t size, int is_free),
		 void *arg)
{
	struct arena *a;
	struct chunk *c, *end;

	op_name = NULL;
	for (a = arenas; a != NULL; a = a->next) {
		end = arena_fence(a);
		for (c = first_chunk(a); c < end; c = (struct chunk *)((char *)c + csize(c))) {
			if (!tag_ok(c) || csize(c) < MIN_CHUNK)
				corrupt(c, "heap walk");
			fn(arg, c, csize(c), is_free(c));
		}
	}
}

static void count_chunk(void *arg, void *chunk_start, size_t size, int isfree)
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
	st->pages = heap_pages;
	st->used_bytes = st->free_bytes = st->chunks = st->free_chunks = 0;
	malloc_walk(count_chunk, st);
}

static void __attribute__((noreturn)) check_fail(const void *where, const char *why)
{
	panic("malloc: check: %s at %p", why, where);
}

int malloc_check(void)
{
	struct arena *a;
	struct chunk *c, *prev, *end;
	unsigned char *bad;
	size_t pages = 0, nfree = 0, nlisted = 0;
	unsigned cls;

	op_name = NULL;
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
