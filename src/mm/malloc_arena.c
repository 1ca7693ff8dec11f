//@ LAB 6 FILE
/* malloc's arenas (malloc_arena.h): lifecycle and the pointer-to-arena hash. */
#include "mm/malloc_arena.h"
//@ LAB 8 BEGIN
#include "mm/malloc_cache.h"
//@ LAB 8 END

struct arena *arenas;
struct arena *cached_empty;
size_t heap_pages;
struct bucket arena_buckets[NBUCKET];
//@ LAB 8 BEGIN
volatile uint32_t arena_gen;

/* Parked arenas (malloc_cache.h): their first words link them. */
static uintptr_t parked_list;
size_t parked;

bool arena_park(uintptr_t start)
{
	if (!mcache_on || parked >= PARK_MAX)
		return false;
	*(uintptr_t *)start = parked_list;
	parked_list = start;
	parked++;
	return true;
}

uintptr_t arena_unpark(void)
{
	uintptr_t start = parked_list;

	if (start != 0) {
		parked_list = *(uintptr_t *)start;
		parked--;
	}
	return start;
}

/* Gives every parked arena back to the page source; returns the pages. */
size_t arena_unpark_all(void)
{
	uintptr_t start;
	size_t pages = 0;

	while ((start = arena_unpark()) != 0) {
		malloc_pages.free(start, ARENA_PAGES);
		heap_pages -= ARENA_PAGES;
		pages += ARENA_PAGES;
	}
	return pages;
}
//@ LAB 8 END

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
	struct bucket *b = bucket_of(key);
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
	struct bucket *b = bucket_of(key);
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

struct arena *arena_create(size_t pages, bool large)
{
	uintptr_t start, end;
	struct arena *a, *prev, *next;
	struct chunk *c;
	size_t got;

	got = 0;

	//@ LAB 8 BEGIN
	if (!large && pages == ARENA_PAGES && (start = arena_unpark()) != 0)
		got = pages;		/* a parked arena: its pages are counted */
	//@ LAB 8 END

	if (got == 0) {
		got = malloc_pages.alloc(pages, pages, &start);
		if (got == 0)
			return NULL;
		if (got != pages) {		/* not what we asked for: don't use it */
			malloc_pages.free(start, got);
			return NULL;
		}
		heap_pages += pages;
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
		malloc_fill(c + 1, MALLOC_POISON_BYTE, arena_span(a) - sizeof(struct chunk) - TAG);

	/* Findable from a pointer: an arena by every pointer into its chunks,
	 * hashed under each 64 KiB slot it overlaps; a large block by its one
	 * pointer only. */
	a->link[0].ent.arena = a;
	a->link[0].ent.lo = (uintptr_t)c + TAG;
	a->link[0].ent.len = large ? 1 : (uintptr_t)arena_fence(a) - ((uintptr_t)c + TAG);
	a->link[1].ent = a->link[0].ent;
	arena_hash_begin();
	hash_insert(a, 0, start);
	if (second_slot(a))
		hash_insert(a, 1, end - 1);
	arena_hash_end();

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
	return a;
}

void arena_destroy(struct arena *a)
{
	uintptr_t start = (uintptr_t)a, end = start + a->pages * PAGE_SIZE;
	size_t pages = a->pages;

	arena_hash_begin();
	hash_remove(a, 0, start);
	if (second_slot(a))
		hash_remove(a, 1, end - 1);
	arena_hash_end();
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		arenas = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	if (cached_empty == a)
		cached_empty = NULL;
	a->magic = 0;

	//@ LAB 8 BEGIN
	if (!a->large && pages == ARENA_PAGES && arena_park(start))
		return;			/* its pages stay in heap_pages */
	//@ LAB 8 END

	heap_pages -= pages;
	malloc_pages.free(start, pages);
}
