//@ LAB 4 FILE
/*
 * Paging (lab 4): two-level i386 page tables, kept in two views.
 *
 * The CPU's view: a page directory of 1024 PDEs, each pointing to a page
 * table of 1024 PTEs. The kernel's view: for every page table, where it is
 * mapped in kernel virtual memory (struct vpde). With both, map_mem can
 * change any directory, active or not, without switching CR3.
 *
 * Invariants:
 *  - PDEs 768..1022 (the kernel half) are the same in every directory: the
 *    kernel page tables are shared, and creating one updates every
 *    directory on the list.
 *  - PDE 1023 of every directory points at the directory itself, so the
 *    active directory's tables appear at RECURSIVE_BASE (the recursive
 *    window); kvpd[i].table is the window address of kernel table i, which
 *    is the same in every directory.
 *  - pd->vpdes[i].table is NULL exactly when user PDE i is not present.
 */
#ifndef STRATA_PAGING_H
#define STRATA_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/layout.h"
#include "kernel/x86.h"

#define USER_PDES	(KERNBASE >> 22)			/* 768 */
#define KERNEL_PDES	(RECURSIVE_SLOT - USER_PDES)	/* 255 */

#define MAP_ENOMEM	(-12)	/* out of physical or kernel virtual pages */
#define MAP_EINVAL	(-22)	/* unaligned, out of range, or no directory */

struct vpde {
	uint32_t *table;	/* kernel-virtual address of the page table, or NULL */
};

struct pagedir {
	struct pagedir *next, *prev;	/* every directory, for the kernel-half sync */
	uintptr_t phys;			/* loaded into CR3 */
	uint32_t *virt;			/* the directory, in kernel virtual memory */
	struct vpde vpdes[USER_PDES];
};

extern struct vpde kvpd[KERNEL_PDES + 1];	/* + the recursive slot: the directory */

/* Turns the boot page directory into the first struct pagedir and removes
 * the boot 1:1 mapping of low memory, so that a NULL dereference faults. */
void paging_init(void);
struct pagedir *kernel_pagedir(void);
struct pagedir *current_pagedir(void);

/* Maps n_pages at virtual to physical (both page aligned) with flags
 * (PTE_PRESENT, PTE_WRITABLE, PTE_USER); without PTE_PRESENT, unmaps them
 * (physical is ignored). pd is ignored, and may be NULL, for kernel
 * addresses. Page tables are created on demand. Returns 0, MAP_ENOMEM
 * (nothing was changed) or MAP_EINVAL. */
int map_mem(struct pagedir *pd, uintptr_t physical, uintptr_t virtual,
	    size_t n_pages, int flags);

/* The software walk: 0 and the physical address and PTE flags of virtual in
 * pd (NULL: the active directory), or -1 when it is not mapped. */
int vm_translate(struct pagedir *pd, uintptr_t virtual, uintptr_t *physical,
		 uint32_t *flags);

/* Sets up a new directory in the page at phys, mapped at virt: an empty user
 * half, the shared kernel half, the recursive slot; puts it on the list. */
void pagedir_setup(struct pagedir *pd, uintptr_t phys, uint32_t *virt);
/* Takes pd off the list and frees its user page tables (not the pages they
 * map, nor the directory page itself). */
void pagedir_teardown(struct pagedir *pd);
void pagedir_switch(struct pagedir *pd);
/* pagedir_create and pagedir_destroy, which allocate a directory with
 * kvmalloc, are in kvmalloc.h (lab 5). */

/* Counts, for tests and the monitor. */
size_t kernel_page_tables(void);
//@ LAB 8 BEGIN

/*
 * Lab 8: frees kernel pages for good, with the other CPUs' TLB flushes
 * batched (paging.c, "Lazy kernel unmaps"). Unmaps the kernel pages
 * [va, va + n_pages), each a frame of its own from ppalloc(1, 1), flushes
 * this CPU's TLB, and frees the frames, then vpfree(NULL, vbase, vpages)
 * if vpages, once every other CPU has flushed them: at the end of the
 * batch. Returns 1 if it did all that; 0 if it did nothing (no other CPU
 * online, or more pages than a batch holds): the caller unmaps and frees
 * as on one CPU. Any thread; holds and takes only paging's lock (and
 * ppalloc's and vpalloc's under it).
 */
int unmap_lazy(uintptr_t va, size_t n_pages, uintptr_t vbase, size_t vpages);
/* Ends the batch now (one shootdown): before free pages are counted. */
void unmap_lazy_flush(void);
/* Unmaps batched so far, and batches ended. */
void unmap_lazy_stats(uint32_t *deferred, uint32_t *purges);

/* Lab 8: maps n_pages of device registers (the LAPIC, the IOAPIC) at the
 * kernel address virtual, read-write and uncached: PTE_PCD | PTE_PWT, the
 * strong uncacheable type with the power-on PAT (a register read must
 * reach the device, a write must not wait in a cache). map_mem keeps only
 * P, W and U (lab 4). Returns as map_mem does. */
int map_device(uintptr_t physical, uintptr_t virtual, size_t n_pages);
//@ LAB 8 END

#endif
