//@ LAB 5 FILE
/*
 * kvmalloc = vpalloc (the virtual range) + ppalloc (one page at a time, so
 * no physically contiguous run is needed) + map_mem. Every step can fail
 * for lack of memory; each failure undoes the steps before it.
 */
#include "kernel/layout.h"
//@ LAB 7 BEGIN
#include "kernel/lock.h"
//@ LAB 7 END
#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/kvmalloc.h"
#include "mm/paging.h"
//@ LAB 7 BEGIN
#include "mm/mmlock.h"

/* One kvmalloc or kvfree as a whole (so kvfree's checks and its frees see
 * one state, and two kvfrees of one range cannot both pass the checks).
 * Rank MM_RANK_KVMALLOC (mm/mmlock.h): after the heap's, before paging's,
 * vpalloc's and ppalloc's, which it calls. */
static struct lock kv_lock = LOCK_INIT("kvmalloc", MM_RANK_KVMALLOC);
//@ LAB 7 END

#define RELEASE_BATCH	16	/* pages unmapped by one map_mem call */

/* Unmaps and frees the physical pages behind [va, va + n pages): up to
 * RELEASE_BATCH pages per map_mem call, so that a multi-page kvfree costs
 * one TLB shootdown per batch (lab 8), not one per page. */
static void release_pages(uintptr_t va, size_t n)
{
	uintptr_t pa[RELEASE_BATCH];
	uint32_t flags;

	//@ LAB 8 BEGIN
	if (unmap_lazy(va, n, 0, 0))
		return;		/* freed once every CPU has flushed (paging.h) */
	//@ LAB 8 END

	while (n) {
		size_t k = n < RELEASE_BATCH ? n : RELEASE_BATCH;

		for (size_t i = 0; i < k; i++)
			if (vm_translate(NULL, va + i * PAGE_SIZE, &pa[i], &flags) < 0)
				panic("kvfree: page 0x%08x is not mapped", va + i * PAGE_SIZE);
		map_mem(NULL, 0, va, k, 0);
		for (size_t i = 0; i < k; i++)
			ppfree(pa[i], 1);
		va += k * PAGE_SIZE;
		n -= k;
	}
}

size_t kvmalloc(size_t min_pages, size_t max_pages, uintptr_t *start)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&kv_lock);
	//@ LAB 7 END

	//@ LAB 5 BEGIN
	uintptr_t va, pa;
	size_t n, i;
	struct ppstats st;

	/* The pages need not be contiguous: any free page will do. */
	ppstats(&st);
	if (max_pages > st.free)
		max_pages = st.free;
	n = vpalloc(NULL, min_pages, max_pages, &va);
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!ppalloc(1, 1, &pa))
			break;
		if (map_mem(NULL, pa, va + i * PAGE_SIZE, 1, PTE_PRESENT | PTE_WRITABLE) < 0) {
			ppfree(pa, 1);
			break;
		}
	}
	if (i < n) {
		release_pages(va, i);
		vpfree(NULL, va, n);
		return 0;
	}
	*start = va;
	return n;
	//@ LAB 5 STUB
	//@ /* LAB 5 exercise 1: virtual range, physical pages, mappings; undo on
	//@    failure (handouts/lab5-kvmalloc.md). */
	//@ (void)min_pages, (void)max_pages, (void)start;
	//@ return 0;
	//@ LAB 5 END
}

void kvfree(uintptr_t start, size_t n_pages)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&kv_lock);
	//@ LAB 7 END

	//@ LAB 5 BEGIN
	uintptr_t pa;
	uint32_t flags;
	const char *why;

	/* Every check before anything is freed: misuse changes nothing. */
	if (start < KVIRT_START || start >= KVIRT_END || (start & (PAGE_SIZE - 1)))
		panic("kvfree(0x%08x, %u): not a kvmalloc'd address", start, n_pages);
	if ((why = vpcheck(NULL, start, n_pages)) != NULL)
		panic("kvfree(0x%08x, %u): %s", start, n_pages, why);
	for (size_t i = 0; i < n_pages; i++)
		if (vm_translate(NULL, start + i * PAGE_SIZE, &pa, &flags) < 0)
			panic("kvfree(0x%08x, %u): page 0x%08x is not mapped", start,
			      n_pages, start + i * PAGE_SIZE);
	release_pages(start, n_pages);
	vpfree(NULL, start, n_pages);
	//@ LAB 5 STUB
	//@ /* LAB 5 exercise 2: unmap, free the pages and the range (handouts/lab5-kvmalloc.md). */
	//@ (void)release_pages, (void)start, (void)n_pages;
	//@ LAB 5 END
}

/* ---- page directories: kvmalloc's first user ---------------------------- */

/* Two pages: the directory, then the struct pagedir (it holds 768 vpdes). */
struct pagedir *pagedir_create(void)
{
	uintptr_t va = 0;	/* (set by kvmalloc; 0 quiets -Og with the lab 5 stub) */
	struct pagedir *pd;
	uintptr_t phys;
	uint32_t flags;

	_Static_assert(sizeof(struct pagedir) <= PAGE_SIZE, "struct pagedir fits a page");
	if (!kvmalloc(2, 2, &va))
		return NULL;
	if (vm_translate(NULL, va, &phys, &flags) < 0) {
		kvfree(va, 2);
		return NULL;
	}
	pd = (struct pagedir *)(va + PAGE_SIZE);
	pagedir_setup(pd, phys, (uint32_t *)va);
	return pd;
}

void pagedir_destroy(struct pagedir *pd)
{
	pagedir_teardown(pd);
	kvfree((uintptr_t)pd->virt, 2);
}

MONITOR_COMMAND(pages, "free physical pages and kernel virtual pages")
{
	struct ppstats st;

	(void)argc, (void)argv;
	//@ LAB 8 BEGIN
	unmap_lazy_flush();	/* pages freed lazily are free (paging.h) */
	//@ LAB 8 END
	ppstats(&st);
	printk("physical: %u free of %u managed (%u reserved)\n", st.free, st.managed,
	       st.reserved);
	printk("kernel virtual: %u free of %u\n", vpfree_count(NULL),
	       (KVIRT_END - KVIRT_START) / PAGE_SIZE);
	printk("kernel page tables: %u\n", kernel_page_tables());
	return 0;
}
