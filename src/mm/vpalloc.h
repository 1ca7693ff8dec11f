//@ LAB 3 FILE
/*
 * Virtual page allocators (lab 3): the buddy allocator of buddy.c applied
 * to ranges of virtual pages, shaped like ppalloc (ppalloc.h): counts in
 * pages, addresses in bytes, "between min and max pages".
 *
 * A virtual page allocator manages the pages of one region of virtual
 * memory. The kernel has one for the kernel virtual ranges (KVIRT_START ..
 * KVIRT_END); each user address space gets its own (lab 7).
 *
 * The kernel allocator is used by passing NULL as vpa to vpalloc; vpfree
 * of a kernel address ignores vpa (the seed's "vpa ignored for kernel
 * addresses").
 */
#ifndef STRATA_VPALLOC_H
#define STRATA_VPALLOC_H

#include <stddef.h>
#include <stdint.h>
//@ LAB 7 BEGIN

#include "kernel/lock.h"
//@ LAB 7 END

struct buddy;

struct vpallocator {
	struct buddy *buddy;
	uintptr_t start;	/* page-aligned */
	size_t n_pages;
	//@ LAB 7 BEGIN
	/* This allocator's buddy: every vpalloc, vpcheck, vpfree of it.
	 * "vpa:kernel" or "vpa:user", rank MM_RANK_VPA (mm/mmlock.h); no
	 * other lock is taken under it. */
	struct lock lock;
	//@ LAB 7 END
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
//@ LAB 7 BEGIN
/* buddy_for_each_free over vpa's buddy (NULL: the kernel's), holding its
 * lock; starts are in pages from vpa->start. */
void vpfor_each_free(struct vpallocator *vpa,
		     void (*fn)(void *arg, unsigned order, size_t start), void *arg);
//@ LAB 7 END

/* Makes the kernel vpallocator (KVIRT_START .. KVIRT_END), its metadata in
 * boot data: between ppalloc_init and ppalloc_boot_done. */
void vpalloc_init(void);

#endif
