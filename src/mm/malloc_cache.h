//@ LAB 8 FILE
/*
 * malloc's insides (5, lab 8): the caches in front of the coalescing heap.
 *
 * MAGAZINES. Each CPU has, for every exact size class up to MCACHE_MAX
 * bytes, a magazine: a LIFO of at most MAG_MAX free chunks of exactly that
 * size, linked through their first link word. malloc of such a size pops
 * one, free pushes one, with interrupts off on this CPU and no lock: the
 * heap's lock is taken only to refill an empty magazine (MAG_BATCH chunks
 * carved from one free chunk at once) or to flush MAG_BATCH chunks of a
 * full one back into the heap, where they are coalesced as any free.
 *
 *   A chunk in a magazine is tagged F_CACHED (not F_FREE): to its
 *   neighbours it looks allocated (it is not merged while cached); free and
 *   realloc of it are caught as a double free (checked_chunk); with
 *   malloc_poison its body is poisoned and checked when it is handed out
 *   again; malloc_check counts the F_CACHED chunks of the arenas against
 *   the magazines and checks each one.
 *
 * The magazines are flushed (their chunks coalesced back into the heap)
 * before an arena is created: a magazine at a time, those whose chunks
 * fit first, until the chunk wanted fits (mcache_flush_for), so that an
 * arena is created only when all of this CPU's magazines are empty. All
 * of them at once on memory pressure (the page source failed, or
 * malloc_trim), and when the caches are turned off.
 *
 * PARKED ARENAS (hysteresis). An arena that becomes wholly free beyond the
 * one lab 6 keeps (cached_empty) is not given back to the page source but
 * parked: out of the arena list and the hash, its pages still held, up to
 * PARK_MAX of them. arena_create takes a parked one before it asks the
 * page source, so an alloc-all/free-all cycle neither creates nor destroys
 * arenas round after round. Parked arenas go back on memory pressure.
 *
 * One set of magazines per CPU in the kernel (malloc_pages.cpu_enter says
 * which); one in the host build. A CPU touches only its own magazines;
 * memory pressure on one CPU flushes its own at once and asks the others
 * to flush theirs at their next malloc or free (flush_req).
 */
#ifndef STRATA_MM_MALLOC_CACHE_H
#define STRATA_MM_MALLOC_CACHE_H

#include "mm/malloc_arena.h"
#include "mm/malloc_chunk.h"

#define MCACHE_MAX	1024				/* chunk sizes cached */
#define MCACHE_CLASSES	(MCACHE_MAX / ALIGN - 1)	/* 32, 48, ..., 1024 */
#define MAG_MAX		16	/* chunks per magazine */
#define MAG_BATCH	8	/* refilled / flushed at once */
#define PARK_MAX	16	/* empty arenas parked (1 MiB) */
#define MCACHE_NCPU	16	/* as NCPU (kernel/cpu.h) */

_Static_assert(MCACHE_MAX < LARGE_MIN, "a large block is never cached");
_Static_assert(MAG_BATCH <= MAG_MAX, "a flush keeps MAG_MAX - MAG_BATCH");

struct magazine {
	struct chunk *head;	/* linked through ->next */
	uint32_t n;
};

struct mcache {
	struct magazine mag[MCACHE_CLASSES];
	volatile int flush_req;	/* another CPU asks this one to flush */
	uint32_t refills, flushes;	/* heap lock taken to refill / to flush */
};

extern struct mcache mcaches[MCACHE_NCPU];
extern bool mcache_on;

/* This CPU's magazines (malloc_pages' hooks, if any). */
static inline struct mcache *mcache_enter(void)
{
#ifdef STRATA_HOST
	return &mcaches[0];	/* the host build: one CPU, one cache */
#else
	return &mcaches[malloc_pages.cpu_enter != NULL ? malloc_pages.cpu_enter() : 0];
#endif
}

static inline void mcache_leave(void)
{
#ifndef STRATA_HOST
	if (malloc_pages.cpu_leave != NULL)
		malloc_pages.cpu_leave();
#endif
}

/* The slow paths of the two below (malloc_cache.c). */
void *mcache_malloc_slow(struct mcache *mc, size_t need);
void mcache_free_slow(struct mcache *mc, struct chunk *c);

_Static_assert(ALIGN % sizeof(struct magazine) == 0, "mag_of's byte offset");

/* The magazine of chunk size `size` (a multiple of ALIGN, 32 .. MCACHE_MAX):
 * &mc->mag[size / ALIGN - 2], as a byte offset the compiler need not
 * shift down and up again (size's low bits are known to be 0 only to us). */
static inline struct magazine *mag_of(struct mcache *mc, size_t size)
{
	return (struct magazine *)((char *)mc->mag +
				   (size - 2 * ALIGN) / (ALIGN / sizeof(struct magazine)));
}

/*
 * A cached chunk's header says F_CACHED; its footer stays the allocated
 * chunk's (only the header is written on the way in and out). The canary
 * is the address's hash xor size|flags (canary()), so the cached header's
 * canary is the allocated one's xor F_CACHED: flipping the flag in both
 * words keeps a valid header valid, and a broken one broken (caught at the
 * next free or malloc_check).
 */
static inline void flip_cached(struct chunk *c)
{
	c->h.size ^= F_CACHED;
	c->h.canary ^= F_CACHED;
}

/* flip_cached on the fast paths, where the flag's state is known (checked
 * just before): the size word is set, not flipped. (Two different
 * operations: the compiler keeps them in plain registers, where the check
 * before them has the header already.) */
static inline void tag_cached(struct chunk *c)
{
	c->h.size |= F_CACHED;		/* F_CACHED was clear */
	c->h.canary ^= F_CACHED;
}

static inline void untag_cached(struct chunk *c, size_t size)
{
	c->h.size = (uint32_t)size;	/* it was size | F_CACHED */
	c->h.canary ^= F_CACHED;
}

/* malloc of a chunk of need <= MCACHE_MAX bytes: a pop from this CPU's
 * magazine; everything unusual (empty, poisoning, a flush asked for, a
 * header that is not a cached chunk's of this size) goes the slow way. */
static inline void *mcache_malloc(size_t need)
{
	struct mcache *mc = mcache_enter();
	struct magazine *m = mag_of(mc, need);
	struct chunk *c = m->head;

	if (c == NULL || (mc->flush_req | malloc_poison) != 0 || c->h.size != (need | F_CACHED))
		return mcache_malloc_slow(mc, need);
	m->head = c->next;
	m->n--;
	mcache_leave();
	untag_cached(c, need);
	return (char *)c + TAG;
}

/*
 * The chunk of pointer p if free may put it in a magazine at once: p is a
 * pointer malloc returned and that is still allocated (checked_chunk's
 * checks, in the same order: no memory at p is read before
 * arena_of_unlocked has found its arena), of a size the magazines hold, in
 * an arena its bucket holds in place. NULL otherwise, without
 * a word: free then takes the heap's way, whose checked_chunk looks again
 * and panics saying what is wrong (so the fast path has no panic calls,
 * and does not write malloc_op, which is the heap's, under its lock).
 */
static inline struct chunk *cacheable_chunk(void *p)
{
	struct chunk *c = (struct chunk *)((char *)p - TAG);
	uint32_t sf;

	if ((uintptr_t)p % ALIGN != 0 || arena_of_unlocked(p) == NULL)
		return NULL;
	sf = c->h.size;
	if (c->h.canary != canary(c, sf) || (sf & F_MASK) != 0 || sf > MCACHE_MAX ||
	    !footer_ok(c))
		return NULL;	/* (F_MASK: not free, not cached, not large) */
	return c;
}

/*
 * free of chunk c (cacheable_chunk's or checked_chunk's, not large, at
 * most MCACHE_MAX bytes),
 * the caches on (the caller looked): a push on this CPU's magazine, or the
 * slow way. (Turning the caches off asks every CPU to flush, flush_req, so
 * a free that saw them on just before is flushed like any cached chunk.)
 */
static inline void mcache_free(struct chunk *c)
{
	struct mcache *mc = mcache_enter();
	struct magazine *m = mag_of(mc, csize(c));

	if (m->n >= MAG_MAX || (mc->flush_req | malloc_poison) != 0) {
		mcache_free_slow(mc, c);
		return;
	}
	tag_cached(c);
	c->next = m->head;
	m->head = c;
	m->n++;
	mcache_leave();
}

/*
 * Before the heap grows (heap lock held): gives the chunks of one of this
 * CPU's magazines back to the heap, coalesced, so that a chunk of `need`
 * bytes may fit: the first that is not empty of those of chunks of need
 * bytes and up, smallest first (any of their chunks fits), then of those
 * below need, largest first. For a need above MCACHE_MAX, where only
 * merged neighbours can fit, all of the magazines at once. Returns how
 * many chunks went back: 0 when all were empty.
 */
size_t mcache_flush_for(size_t need);
/* Memory pressure, heap lock held: flushes this CPU's magazines, asks the
 * others to flush theirs, gives parked arenas back. Returns pages freed. */
size_t mcache_pressure(void);

/* Parked arenas (malloc_arena.c): park one being destroyed (its start),
 * false if none may be parked; unpark one (0 if none). */
bool arena_park(uintptr_t start);
uintptr_t arena_unpark(void);
size_t arena_unpark_all(void);
extern size_t parked;

/* malloc.c: the coalescing heap underneath, heap lock held. */
struct chunk *heap_alloc(size_t need);
void heap_free(struct chunk *c);

/* malloc_check: the magazines agree with the F_CACHED chunks (count). */
size_t mcache_check(void);

#endif
