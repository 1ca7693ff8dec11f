//@ LAB 3 FILE
/*
 * vpalloc.c applies the buddy allocator (buddy.c) to ranges of virtual
 * pages: a struct vpallocator is a buddy over one region, in pages, plus
 * the region's start address. The kernel's (kvpa) manages the kernel
 * virtual ranges; its metadata is boot data (ppalloc.h).
 */
#include "kernel/layout.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/buddy.h"
//@ LAB 7 BEGIN
#include "mm/mmlock.h"
//@ LAB 7 END
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

static struct vpallocator kvpa;

void vpalloc_init(void)
{
	size_t kpages = (KVIRT_END - KVIRT_START) >> PAGE_SHIFT;

	if (vpcreate(&kvpa, KVIRT_START, kpages, boot_alloc(vpmeta_size(kpages))) < 0)
		printk("[vpalloc] vpcreate failed: no kernel virtual ranges\n");
	else
		printk("[vpalloc] kernel ranges 0x%08x-0x%08x, %u pages\n",
		       KVIRT_START, KVIRT_END - 1, kpages);
}

size_t vpmeta_size(size_t n_pages)
{
	return buddy_meta_size(n_pages);
}

struct vpallocator *kernel_vpallocator(void)
{
	return &kvpa;
}

int vpcreate(struct vpallocator *vpa, uintptr_t start, size_t n_pages, void *meta)
{
	//@ LAB 7 BEGIN
	lock_init(&vpa->lock, start >= KERNBASE ? "vpa:kernel" : "vpa:user", MM_RANK_VPA);
	//@ LAB 7 END

	//@ LAB 3 BEGIN
	uintptr_t last = start + (n_pages - 1) * PAGE_SIZE;

	if ((start & (PAGE_SIZE - 1)) || n_pages == 0 ||
	    n_pages - 1 > (UINTPTR_MAX - start) / PAGE_SIZE ||
	    (start < KERNBASE) != (last < KERNBASE))
		return -1;
	vpa->start = start;
	vpa->n_pages = n_pages;
	vpa->buddy = buddy_init(meta, n_pages);
	return 0;
	//@ LAB 3 STUB
	//@ /* LAB 3 exercise 1: set up vpa over the region (handouts/lab3-vpalloc.md). */
	//@ (void)vpa, (void)start, (void)n_pages, (void)meta;
	//@ return -1;
	//@ LAB 3 END
}

static struct vpallocator *choose(struct vpallocator *vpa, uintptr_t addr)
{
	return (vpa == NULL || addr >= KERNBASE) ? &kvpa : vpa;
}

size_t vpalloc(struct vpallocator *vpa, size_t min_pages, size_t max_pages,
	       uintptr_t *start_addr)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&(vpa ? vpa : &kvpa)->lock);
	//@ LAB 7 END

	//@ LAB 3 BEGIN
	size_t unit, n;

	vpa = choose(vpa, 0);
	if (min_pages == 0 || min_pages > max_pages || !vpa->buddy)
		return 0;
	n = buddy_alloc(vpa->buddy, min_pages, max_pages, &unit);
	if (n)
		*start_addr = vpa->start + ((uintptr_t)unit << PAGE_SHIFT);
	return n;
	//@ LAB 3 STUB
	//@ /* LAB 3 exercise 2: vpa's buddy, scaled to addresses (handouts/lab3-vpalloc.md). */
	//@ (void)choose, (void)vpa, (void)min_pages, (void)max_pages, (void)start_addr;
	//@ return 0;
	//@ LAB 3 END
}

const char *vpcheck(struct vpallocator *vpa, uintptr_t start_addr, size_t n_pages)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&choose(vpa, start_addr)->lock);
	//@ LAB 7 END

	//@ LAB 3 BEGIN
	int err = BUDDY_ERANGE;

	vpa = choose(vpa, start_addr);
	if (start_addr & (PAGE_SIZE - 1))
		err = BUDDY_ENOTSTART;
	else if (vpa->buddy && start_addr >= vpa->start &&
		 (start_addr - vpa->start) >> PAGE_SHIFT < vpa->n_pages)
		err = buddy_check(vpa->buddy, (start_addr - vpa->start) >> PAGE_SHIFT, n_pages);
	return err ? buddy_strerror(err) : NULL;
	//@ LAB 3 STUB
	//@ /* LAB 3 exercise 3: what is wrong with this vpfree, or NULL (handouts/lab3-vpalloc.md). */
	//@ (void)vpa, (void)start_addr, (void)n_pages;
	//@ return "vpcheck is not written yet (LAB 3 exercise 3)";
	//@ LAB 3 END
}

void vpfree(struct vpallocator *vpa, uintptr_t start_addr, size_t n_pages)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&choose(vpa, start_addr)->lock);	/* the check and the free at once */
	//@ LAB 7 END
	const char *why = vpcheck(vpa, start_addr, n_pages);

	if (why)
		panic("vpfree(0x%08x, %u): %s", start_addr, n_pages, why);
	vpa = choose(vpa, start_addr);
	buddy_free(vpa->buddy, (start_addr - vpa->start) >> PAGE_SHIFT, n_pages);
}

//@ LAB 7 BEGIN
void vpfor_each_free(struct vpallocator *vpa,
		     void (*fn)(void *arg, unsigned order, size_t start), void *arg)
{
	vpa = choose(vpa, 0);
	lock_acquire(&vpa->lock);
	if (vpa->buddy)
		buddy_for_each_free(vpa->buddy, fn, arg);
	lock_release(&vpa->lock);
}
//@ LAB 7 END

size_t vpfree_count(const struct vpallocator *vpa)
{
	if (vpa == NULL)
		vpa = &kvpa;
	return vpa->buddy ? buddy_free_units(vpa->buddy) : 0;
}
