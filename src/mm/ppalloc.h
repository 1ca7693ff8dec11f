//@ LAB 2 FILE
/*
 * The physical page allocator (lab 2): the buddy allocator of buddy.c
 * applied to the physical pages of the multiboot memory map.
 *
 * Every function hands out runs of whole pages. Counts are in pages,
 * addresses in bytes. "Between min and max pages": ppalloc returns as many
 * as it can up to max, never fewer than min, and 0 (allocating nothing)
 * when no run of min pages is free. vpalloc.h (lab 3) has the same shape.
 */
#ifndef STRATA_PPALLOC_H
#define STRATA_PPALLOC_H

#include <stddef.h>
#include <stdint.h>

struct buddy;

/*
 * Bring-up, in two steps around the boot data (kernel_main):
 *
 *   ppalloc_init()        the buddy over physical memory; opens boot data
 *   boot_alloc(bytes)     ... other allocators' metadata (lab 3's kernel
 *                         vpallocator), after the kernel image
 *   ppalloc_boot_done()   reserves what the machine cannot give away, the
 *                         boot data included; prints the [ppalloc] summary
 *
 * Never handed out: pages the map does not call available, memory above
 * 4 GiB, page 0, the SMP trampoline page, the kernel image, the boot data
 * and the multiboot structures and modules.
 */
void ppalloc_init(void);
/* Page-aligned memory (not zeroed) after the kernel image and modules,
 * reached through the boot mapping; only between ppalloc_init and
 * ppalloc_boot_done (panics otherwise, or past the boot mapping). */
void *boot_alloc(size_t bytes);
void ppalloc_boot_done(void);

size_t ppalloc(size_t min_pages, size_t max_pages, uintptr_t *start_addr);
/* Frees exactly what one ppalloc returned. Misuse (double free, wrong start
 * or size) panics with a message naming the address and the reason. */
void ppfree(uintptr_t start_addr, size_t n_pages);

struct ppstats {
	size_t managed;		/* pages between 0 and the highest available page */
	size_t free;
	size_t reserved;	/* never handed out */
};
void ppstats(struct ppstats *st);
void ppalloc_print(void);	/* the [ppalloc] summary lines */
const struct buddy *ppalloc_buddy(void);	/* for tests and debuggers */

//@ LAB 8 BEGIN
/* The per-CPU single-page caches in front of the buddy (lab 8, ppalloc.c):
 * ppcache_enable(0) flushes them and turns them off (lab 2's tests test
 * the buddy underneath so); ppcache_pages() is the pages they hold (free
 * pages: ppstats counts them). */
void ppcache_enable(int on);
size_t ppcache_pages(void);
/*
 * Every online CPU's magazine back into the buddy: this CPU's at once, each
 * other's when that CPU next calls ppalloc(1, 1) or ppfree(p, 1), or at its
 * next timer tick (ppcache_serve). Returns once all have (0), or -1 if some
 * CPU did not within a few of its ticks. A thread, interrupts on, no lock
 * held: before free pages are counted page for page (buddy walks).
 */
int ppcache_flush_all(void);
/* At every timer tick of every CPU (interrupts off): the flush another CPU
 * asked of this one (memory pressure, ppcache_flush_all). */
void ppcache_serve(void);
//@ LAB 8 END
//@ LAB 7 BEGIN
/* buddy_for_each_free over the physical buddy, holding its lock (so the
 * walk sees one state even while other threads allocate). */
void ppalloc_for_each_free(void (*fn)(void *arg, unsigned order, size_t start), void *arg);
//@ LAB 7 END


#endif
