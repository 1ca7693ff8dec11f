//@ LAB 6 FILE
/*
 * The kernel heap: malloc, calloc, realloc, free for small kernel objects
 * (lab 6). malloc.c carves arenas of pages from kvmalloc into chunks with
 * boundary tags; see the comment at the top of malloc.c for the layout.
 *
 * Semantics (C library ones, with these choices):
 *   - malloc(0) returns a unique pointer (a minimum-size chunk) that must be
 *     freed like any other; it is never NULL unless memory is exhausted.
 *   - free(NULL) does nothing; realloc(NULL, n) is malloc(n).
 *   - realloc(p, 0) frees p and returns NULL.
 *   - If realloc fails it returns NULL and p is left as it was.
 *   - Every pointer returned is MALLOC_ALIGN (16) byte aligned.
 *   - Requests above MALLOC_MAX (1 GiB, more than the kernel's whole virtual
 *     space) and calloc(n, size) whose product overflows return NULL.
 *   - Misuse panics, naming the pointer and the reason:
 *       "malloc: free(<p>): double free"
 *       "malloc: free(<p>): not a malloc'd pointer"
 *       "malloc: free(<p>): corrupted chunk header ..."
 *     and the same with "realloc(<p>)" (there "double free" means p had
 *     already been freed).
 *
 * Invariants kept between calls (checked by malloc_check):
 *   1. the chunks of an arena tile it exactly, from its first chunk to its
 *      end fence; every chunk is a multiple of 16 bytes, at least 32;
 *   2. every chunk's header and footer are equal, and carry a canary that
 *      depends on the chunk's address, size and flags;
 *   3. no two neighbouring chunks are both free (free chunks are coalesced
 *      at once);
 *   4. a chunk is on free list size_class(size) exactly when it is free, and
 *      bit c of the class bitmap is set exactly when list c is not empty;
 *   5. at most one arena is wholly free (kept to avoid kvmalloc/kvfree
 *      thrashing); other arenas that become free go back to kvfree at once,
 *      and so does a large block's own region;
 *   6. with malloc_poison set, the bytes of every free chunk after its list
 *      links and before its footer are MALLOC_POISON_BYTE.
 *
 * Not thread safe: one CPU, interrupts must not allocate (lab 8 adds a lock,
 * malloc_pages.lock, and per-CPU caches in front).
 */
#ifndef STRATA_MM_MALLOC_H
#define STRATA_MM_MALLOC_H

#include <stddef.h>
#include <stdint.h>

/*
 * On the host (unit tests, benchmark) these names would clash with the C
 * library, which the test programs themselves still use: rename ours.
 * Include the system headers before this one.
 */
#ifdef STRATA_HOST
#define malloc		strata_malloc
#define calloc		strata_calloc
#define realloc		strata_realloc
#define free		strata_free
#define malloc_stats	strata_malloc_stats
#define malloc_walk	strata_malloc_walk
#define malloc_check	strata_malloc_check
#define malloc_poison	strata_malloc_poison
//@ LAB 8 BEGIN
#define malloc_trim	strata_malloc_trim
//@ LAB 8 END
#endif

#define MALLOC_ALIGN		16
#define MALLOC_MAX		((size_t)1 << 30)	/* largest request served */
#define MALLOC_CHUNK_OFFSET	8	/* pointer malloc returns = chunk start + this */
#define MALLOC_POISON_BYTE	0x6b

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

struct malloc_stats {
	size_t pages;		/* pages held from kvmalloc (arenas + large blocks) */
	size_t used_bytes;	/* bytes in allocated chunks, headers and footers included */
	size_t free_bytes;	/* bytes in free chunks */
	size_t chunks;		/* all chunks, allocated and free */
	size_t free_chunks;
};
void malloc_stats(struct malloc_stats *st);

/*
 * Calls fn for every chunk of every arena (large blocks included), arenas in
 * address order and chunks in address order within each: chunk_start is the
 * chunk's header (an allocated chunk's pointer is chunk_start +
 * MALLOC_CHUNK_OFFSET), size the whole chunk, headers included. Consecutive
 * chunks of one arena touch. fn must not call malloc, realloc or free.
 */
void malloc_walk(void (*fn)(void *arg, void *chunk_start, size_t size, int is_free),
		 void *arg);

/* Checks every invariant above; returns 0, or panics with the reason. */
int malloc_check(void);

/*
 * Debug option: when non-zero, freed memory is filled with
 * MALLOC_POISON_BYTE, and malloc panics ("modified after free") if a chunk
 * it hands out again was written to meanwhile. Set it while the heap is
 * empty (before the first malloc): chunks freed before it was set are not
 * poisoned.
 */
extern int malloc_poison;

/*
 * The page source (as Plan 9's pool is given its functions): malloc*.c
 * include nothing from the kernel and take their pages, and their panic,
 * from this one struct, defined once per program: by malloc_kernel.c in
 * the kernel ({ kvmalloc, kvfree, panic }, so a change to their signatures
 * fails to compile there), by tests/host_pages.c on the host.
 *
 * alloc maps between min_pages and max_pages contiguous pages, stores the
 * first address in *start and returns how many it mapped (0: out of
 * memory); free takes back exactly a range alloc returned; panic does not
 * return.
 */
struct malloc_pages {
	size_t (*alloc)(size_t min_pages, size_t max_pages, uintptr_t *start);
	void (*free)(uintptr_t start, size_t n_pages);
	void (*panic)(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
	//@ LAB 7 BEGIN
	/* The heap's lock (lab 7 on; NULL on the host): every malloc, calloc,
	 * realloc, free, malloc_walk, malloc_stats and malloc_check holds it.
	 * lock returns 1 if it took it, 0 if this CPU held it already. */
	int (*lock)(void);
	void (*unlock)(void);
	//@ LAB 7 END

	//@ LAB 8 BEGIN
	/* The per-CPU caches (lab 8; NULL on the host, one cache): cpu_enter
	 * turns interrupts off on this CPU (nested) and returns its index
	 * (< 16), cpu_leave undoes it. */
	unsigned (*cpu_enter)(void);
	void (*cpu_leave)(void);
	/* malloc_flush_all waits with it (NULL on the host) until pending(arg,
	 * i) is 0 for every other online CPU i; -1 if one did not see to it. */
	int (*wait_cpus)(int (*pending)(void *arg, int cpu), void *arg);
	//@ LAB 8 END
};
extern const struct malloc_pages malloc_pages;

//@ LAB 8 BEGIN
/*
 * The caches in front of the heap (lab 8, malloc_cache.h): per-CPU
 * magazines of small free chunks, and empty arenas parked instead of given
 * back. On by default.
 *
 * malloc_cache_enable(0) flushes every cache and turns them off (lab 6's
 * tests test the coalescing heap underneath so); (1) turns them on again.
 * malloc_trim() is memory pressure on demand: this CPU's magazines are
 * flushed, the other CPUs' at their next call, parked arenas given back;
 * returns the pages given back to the page source.
 */
void malloc_cache_enable(int on);
size_t malloc_trim(void);
/*
 * malloc_trim on every CPU at once (malloc_pages.wait_cpus):
 * this CPU's magazines now, each other CPU's at its next malloc or free or
 * at its next timer tick (malloc_cache_serve), then the parked arenas,
 * those the flushes emptied too. Returns 0 once all have, -1 if some CPU
 * did not within a few of its ticks. A thread, interrupts on, no lock held.
 */
int malloc_flush_all(void);
/* Drains this CPU's magazines if another CPU asked (flush_req): the
 * kernel calls it at every timer tick of every CPU, interrupts off. */
void malloc_cache_serve(void);

struct malloc_cache_stats {
	size_t cached_chunks;	/* in every CPU's magazines */
	size_t cached_bytes;
	size_t parked_pages;	/* parked arenas' pages (in malloc_stats' pages too) */
	size_t refills, flushes;	/* heap lock taken to refill / flush a magazine */
};
void malloc_cache_stats(struct malloc_cache_stats *st);
//@ LAB 8 END

#endif
