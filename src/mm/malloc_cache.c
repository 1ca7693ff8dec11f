//@ LAB 8 FILE
/*
 * malloc's per-CPU magazines and the caches' switches (malloc_cache.h has
 * the design; the parked arenas are in malloc_arena.c).
 */
#include "mm/malloc_arena.h"
#include "mm/malloc_cache.h"
#include "mm/malloc_class.h"

struct mcache mcaches[MCACHE_NCPU];
bool mcache_on = true;

/* A chunk popped from a magazine must still be the cached chunk it was:
 * its link word lives in freed memory, so a write after free could have
 * sent us anywhere. The canary catches that before we write to it. */
static void check_cached(struct chunk *c, size_t size)
{
	if (c->h.size != (size | F_CACHED) || !tag_ok(c) || footer(c)->size != size ||
	    footer(c)->canary != canary(c, (uint32_t)size))
		malloc_pages.panic("malloc: cached chunk %p (size %u) modified after free",
				   (void *)c, (unsigned)size);
	if (malloc_poison) {
		unsigned char *b = poison_broken(c);

		if (b != NULL)
			malloc_pages.panic("malloc: chunk %p modified after free (byte at %p is 0x%x)",
					   (void *)c, (void *)b, *b);
	}
}

/* Tags chunk c (its footer an allocated chunk's) cached and pushes it on
 * magazine m. */
static void mag_push(struct magazine *m, struct chunk *c, size_t size)
{
	flip_cached(c);
	if (malloc_poison)
		malloc_fill(c + 1, MALLOC_POISON_BYTE, size - sizeof(struct chunk) - TAG);
	c->next = m->head;
	m->head = c;
	m->n++;
}

/* Gives [c, c + size), chunks just taken out of magazines, to the heap
 * as one chunk: free merges it with its free neighbours. */
static void release_run(struct chunk *c, size_t size)
{
	set_tags(c, size, 0);	/* one allocated chunk over the run, then freed */
	heap_free(c);
}

/*
 * Gives back to the heap all but the `keep` newest chunks of m, heap lock
 * held; returns how many. Chunks next to each other in memory (a batch
 * that was carved together and freed in order, typically) go back as one
 * run, so the heap merges once per run rather than once per chunk.
 */
static size_t mag_drain(struct magazine *m, uint32_t keep)
{
	struct chunk *c, *next, *run = NULL, **pp = &m->head;
	size_t n = 0, size, runsize = 0;

	for (uint32_t i = 0; i < keep && *pp != NULL; i++)
		pp = &(*pp)->next;
	for (c = *pp; c != NULL; c = next) {
		next = c->next;
		size = csize(c);
		check_cached(c, size);
		if (run != NULL && (char *)c + size == (char *)run) {
			run = c;		/* just below the run */
			runsize += size;
		} else if (run != NULL && (char *)run + runsize == (char *)c) {
			runsize += size;	/* just above it */
		} else {
			if (run != NULL)
				release_run(run, runsize);
			run = c;
			runsize = size;
		}
		n++;
	}
	if (run != NULL)
		release_run(run, runsize);
	*pp = NULL;
	m->n -= n;
	return n;
}

static size_t mcache_drain(struct mcache *mc)
{
	size_t n = 0;

	mc->flush_req = 0;
	for (unsigned i = 0; i < MCACHE_CLASSES; i++)
		if (mc->mag[i].n > 0)
			n += mag_drain(&mc->mag[i], 0);
	return n;
}

size_t mcache_flush_for(size_t need)
{
	struct mcache *mc = mcache_enter();
	size_t n = 0, size;

	if (need > MCACHE_MAX) {
		n = mcache_drain(mc);
	} else {
		for (size = need; size <= MCACHE_MAX && n == 0; size += ALIGN)
			if (mag_of(mc, size)->n > 0)
				n = mag_drain(mag_of(mc, size), 0);
		for (size = need - ALIGN; size >= MIN_CHUNK && n == 0; size -= ALIGN)
			if (mag_of(mc, size)->n > 0)
				n = mag_drain(mag_of(mc, size), 0);
	}
	mcache_leave();
	return n;
}

size_t mcache_pressure(void)
{
	struct mcache *mine = mcache_enter();
	size_t pages = heap_pages;

	mcache_drain(mine);
	for (unsigned i = 0; i < MCACHE_NCPU; i++)
		if (&mcaches[i] != mine)
			mcaches[i].flush_req = 1;
	mcache_leave();
	arena_unpark_all();
	return pages - heap_pages;
}

/*
 * Refills magazine m for chunks of `need` bytes, heap lock held: one free
 * chunk of MAG_BATCH * need bytes, if the heap has one without growing, is
 * carved into MAG_BATCH chunks; otherwise one chunk is taken the usual way
 * (heap_alloc, which may flush the magazines and grow the heap). Returns
 * the chunk for the caller, tagged in use; the rest are in m.
 */
static struct chunk *refill(struct magazine *m, size_t need)
{
	unsigned cls = size_class(need * MAG_BATCH);
	struct chunk *big, *c;
	size_t size;


	if (!lists_ready)
		lists_init();
	big = freelist[cls].next;
	if (big == &freelist[cls] || csize(big) < need * MAG_BATCH) {
		cls = first_class_from(cls + 1);
		big = cls < NCLASS ? freelist[cls].next : NULL;
	}
	/* The rest of big must be nothing or a chunk. */
	if (big == NULL || (csize(big) != need * MAG_BATCH &&
			    csize(big) < need * MAG_BATCH + MIN_CHUNK) ||
	    (malloc_poison && poison_broken(big) != NULL))
		return heap_alloc(need);	/* (a broken poison is reported there) */
	if (cached_empty != NULL && big == first_chunk(cached_empty))
		cached_empty = NULL;
	size = csize(big);
	if (size == need * MAG_BATCH) {
		freelist_remove(big);
	} else {
		c = (struct chunk *)((char *)big + need * MAG_BATCH);
		set_tags(c, size - need * MAG_BATCH, F_FREE);
		freelist_move(big, c);
	}
	for (unsigned i = MAG_BATCH - 1; i > 0; i--) {
		c = (struct chunk *)((char *)big + i * need);
		set_tags(c, need, 0);
		mag_push(m, c, need);
	}
	set_tags(big, need, 0);
	return big;
}

void *mcache_malloc_slow(struct mcache *mc, size_t need)
{
	struct magazine *m = mag_of(mc, need);
	struct chunk *c = m->head;

	if (c != NULL && !mc->flush_req) {
		check_cached(c, need);	/* panics if it is not the chunk cached */
		m->head = c->next;
		m->n--;
		mcache_leave();
		flip_cached(c);
		return (char *)c + TAG;
	}
	{
		HEAP_LOCKED();

		if (mc->flush_req) {	/* nothing cached until it is served */
			mcache_drain(mc);
			c = heap_alloc(need);
		} else {
			mc->refills++;
			c = refill(m, need);
		}
	}
	mcache_leave();
	if (c == NULL)
		return NULL;
	if (malloc_poison) {
		unsigned char *b = poison_broken(c);

		if (b != NULL)
			malloc_pages.panic("malloc: chunk %p modified after free (byte at %p is 0x%x)",
					   (void *)c, (void *)b, *b);
	}
	return (char *)c + TAG;
}

void mcache_free_slow(struct mcache *mc, struct chunk *c)
{
	size_t size = csize(c);
	struct magazine *m = mag_of(mc, size);

	if (mc->flush_req || !mcache_on) {
		/* A flush asked (or the caches turned off) since this free
		 * began: the magazines go back, and c with them. */
		HEAP_LOCKED();

		mc->flushes++;
		mcache_drain(mc);
		heap_free(c);
		mcache_leave();
		return;
	}
	if (m->n >= MAG_MAX) {
		HEAP_LOCKED();

		mc->flushes++;
		mag_drain(m, MAG_MAX - MAG_BATCH);
	}
	mag_push(m, c, size);
	mcache_leave();
}

/* ---- switches, statistics, checks -------------------------------------- */

size_t malloc_trim(void)
{
	HEAP_LOCKED();

	return mcache_pressure();
}

void malloc_cache_enable(int on)
{
	mcache_on = on != 0;	/* off: from now on every malloc and free is the heap's */
	if (!on)
		malloc_flush_all();	/* each CPU its own magazines (mcache_free) */
}

void malloc_cache_serve(void)
{
	struct mcache *mc = mcache_enter();

	if (mc->flush_req) {
		HEAP_LOCKED();

		mcache_drain(mc);
	}
	mcache_leave();
}

/* A flush asked of CPU cpu and not yet served (malloc_pages.wait_cpus). */
static int flush_pending(void *arg, int cpu)
{
	(void)arg;
	return mcaches[cpu].flush_req;
}

int malloc_flush_all(void)
{
	int err = 0;

	malloc_trim();		/* this CPU's magazines now; every other one asked */
	if (malloc_pages.wait_cpus != NULL)
		err = malloc_pages.wait_cpus(flush_pending, NULL);
	{
		HEAP_LOCKED();

		arena_unpark_all();	/* those the other CPUs' flushes emptied */
	}
	return err;
}

void malloc_cache_stats(struct malloc_cache_stats *st)
{
	HEAP_LOCKED();

	st->cached_chunks = st->cached_bytes = st->refills = st->flushes = 0;
	for (unsigned i = 0; i < MCACHE_NCPU; i++) {
		struct mcache *mc = &mcaches[i];

		/* Counts only: another CPU's magazine changes under us (its
		 * links are not ours to follow), and a magazine holds chunks
		 * of one size. */
		for (unsigned k = 0; k < MCACHE_CLASSES; k++) {
			uint32_t n = mc->mag[k].n;

			st->cached_chunks += n;
			st->cached_bytes += n * (k + 2) * ALIGN;
		}
		st->refills += mc->refills;
		st->flushes += mc->flushes;
	}
	st->parked_pages = parked * ARENA_PAGES;
}

/*
 * For malloc_check (heap quiescent): every magazine's chunks are cached
 * chunks of its size, inside an arena, as many as it counts. Returns the
 * number of cached chunks in all.
 */
size_t mcache_check(void)
{
	size_t total = 0;

	for (unsigned i = 0; i < MCACHE_NCPU; i++) {
		for (unsigned k = 0; k < MCACHE_CLASSES; k++) {
			struct magazine *m = &mcaches[i].mag[k];
			size_t size = (k + 2) * ALIGN, n = 0;
			struct chunk *c;

			for (c = m->head; c != NULL; c = c->next) {
				struct arena *a = arena_lookup((char *)c + TAG);

				if (a == NULL || a->large || (uintptr_t)c % ALIGN != ALIGN - TAG)
					malloc_pages.panic("malloc: check: magazine chunk %p is in no arena",
							   (void *)c);
				check_cached(c, size);
				if (++n > m->n)
					malloc_pages.panic("malloc: check: magazine of %u-byte chunks "
							   "holds more than its count %u", (unsigned)size,
							   (unsigned)m->n);
			}
			if (n != m->n || n > MAG_MAX)
				malloc_pages.panic("malloc: check: magazine of %u-byte chunks holds %u, "
						   "counts %u", (unsigned)size, (unsigned)n,
						   (unsigned)m->n);
			total += n;
		}
	}
	return total;
}
