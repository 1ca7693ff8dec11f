//@ LAB 2 FILE
/*
 * Physical and virtual page allocation (labs 2 and 3): the buddy allocator
 * of buddy.c applied to physical pages and to ranges of virtual pages.
 *
 * Every function hands out runs of whole pages. Counts are in pages,
 * addresses in bytes. "Between min and max pages": the allocators return
 * as many as they can up to max, never fewer than min, and 0 (allocating
 * nothing) when no run of min pages is free.
 */
#ifndef STRATA_ALLOCATION_H
#define STRATA_ALLOCATION_H

#include <stddef.h>
#include <stdint.h>

struct buddy;

/* Builds the physical allocator from the multiboot memory map. Never hands
 * out: pages the map does not call available, memory above 4 GiB, page 0,
 * the SMP trampoline page, the kernel image, the boot data (allocator
 * metadata) and the multiboot structures and modules. */
void allocation_init(void);

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

//@ LAB 3 BEGIN
/*
 * A virtual page allocator manages the pages of one region of virtual
 * memory. The kernel has one for the kernel virtual ranges (KVIRT_START ..
 * KVIRT_END); each user address space gets its own (lab 7).
 *
 * The kernel allocator is used by passing NULL as vpa to vpalloc; vpfree
 * of a kernel address ignores vpa (the seed's "vpa ignored for kernel
 * addresses").
 */
struct vpallocator {
	struct buddy *buddy;
	uintptr_t start;	/* page-aligned */
	size_t n_pages;
};

/* Bytes of metadata vpcreate needs for a region of n_pages. */
size_t vpmeta_size(size_t n_pages);
/* Makes vpa manage [start, start + n_pages pages), all free, with the
 * caller's metadata memory (vpmeta_size bytes). Returns 0, or -1 if the
 * region is not page aligned, empty, wraps past 4 GiB, or has pages on both
 * sides of KERNBASE (a region is all user or all kernel). */
int vpcreate(struct vpallocator *vpa, uintptr_t start, size_t n_pages, void *meta);
size_t vpalloc(struct vpallocator *vpa, size_t min_pages, size_t max_pages,
	       uintptr_t *start_addr);
/* Panics, naming the address, the count and vpcheck's reason, unless
 * [start_addr, + n_pages) is exactly one live vpalloc range. */
void vpfree(struct vpallocator *vpa, uintptr_t start_addr, size_t n_pages);
/* NULL if vpfree(vpa, start_addr, n_pages) would succeed (the range is
 * exactly one live vpalloc range), else the reason it would panic with
 * (buddy_strerror's text). Changes nothing. */
const char *vpcheck(struct vpallocator *vpa, uintptr_t start_addr, size_t n_pages);
size_t vpfree_count(const struct vpallocator *vpa);	/* free pages; NULL: kernel */
struct vpallocator *kernel_vpallocator(void);
//@ LAB 3 END

#endif
