/*
 * Lab 3 in-kernel tests: vpcreate/vpalloc/vpfree, on the kernel's own
 * allocator and on a small test region in user space.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

#define REGION_START	0x40000000
#define REGION_PAGES	100	/* not a power of two on purpose */
#define MAX_LIVE	128

static struct vpallocator region;
static uint64_t region_meta[2048];
static struct { uintptr_t start; size_t pages; } live[MAX_LIVE];

static void make_region(void)
{
	KEXPECT(vpmeta_size(REGION_PAGES) <= sizeof(region_meta));
	KEXPECT_EQ(vpcreate(&region, REGION_START, REGION_PAGES, region_meta), 0);
	KEXPECT_EQ(vpfree_count(&region), REGION_PAGES);
}

static int overlaps(uintptr_t a, size_t an, uintptr_t b, size_t bn)
{
	return a < b + bn * PAGE_SIZE && b < a + an * PAGE_SIZE;
}

KTEST(vpalloc_region)
{
	size_t n = 0, total = 0;
	uintptr_t x = 3;

	make_region();
	KEXPECT_EQ(vpcreate(&region, REGION_START + 1, 4, region_meta), -1);
	KEXPECT_EQ(vpcreate(&region, REGION_START, 0, region_meta), -1);
	/* A region is all user or all kernel, and does not wrap past 4 GiB. */
	KEXPECT_EQ(vpcreate(&region, KERNBASE - 2 * PAGE_SIZE, 4, region_meta), -1);
	KEXPECT_EQ(vpcreate(&region, 0xFFFFE000, 4, region_meta), -1);
	/* 2^20 + 1 pages from KERNBASE wrap around 4 GiB and end in the
	 * kernel half again: refused as wrapping, not by the straddle check. */
	static struct vpallocator scratch;
	if (vpcreate(&scratch, KERNBASE, ((size_t)1 << 20) + 1, NULL) != -1)
		ktest_fail("vpcreate(KERNBASE, 2^20 + 1 pages) succeeded: the region wraps past "
			   "4 GiB (exercise 1)");
	KEXPECT_EQ(vpcreate(&region, KERNBASE - 2 * PAGE_SIZE, 2, region_meta), 0);
	printk("vpalloc_region: vpcreate refuses unaligned, empty, straddling, wrapping regions\n");
	make_region();
	KEXPECT_EQ(vpalloc(&region, 3, 3, &live[0].start), 3);
	KEXPECT_EQ(vpalloc(&region, 5, 8, &live[1].start), 8);
	KEXPECT_EQ(vpalloc(&region, 0, 8, &x), 0);
	KEXPECT_EQ(vpalloc(&region, 200, 300, &x), 0);	/* bigger than the region */
	KEXPECT_EQ(x, 3);
	vpfree(&region, live[1].start, 8);
	vpfree(&region, live[0].start, 3);
	printk("vpalloc_region: min/max as in ppalloc\n");

	/* Exhaust it with runs of 1..7 pages, then give everything back. */
	while (n < MAX_LIVE && (live[n].pages = vpalloc(&region, 1, 1 + n % 7, &live[n].start))) {
		KEXPECT(live[n].start >= REGION_START);
		KEXPECT(live[n].start + live[n].pages * PAGE_SIZE <= REGION_START + REGION_PAGES * PAGE_SIZE);
		KEXPECT(live[n].start % PAGE_SIZE == 0);
		for (size_t i = 0; i < n; i++)
			if (overlaps(live[i].start, live[i].pages, live[n].start, live[n].pages))
				ktest_fail("0x%08x overlaps the live range 0x%08x", live[n].start, live[i].start);
		total += live[n++].pages;
	}
	KEXPECT_EQ(total, REGION_PAGES);
	KEXPECT_EQ(vpalloc(&region, 1, 1, &x), 0);
	printk("vpalloc_region: %u pages in %u ranges, inside the region, disjoint; then 0\n",
	       total, n);
	while (n--)
		vpfree(&region, live[n].start, live[n].pages);
	KEXPECT_EQ(vpfree_count(&region), REGION_PAGES);
	printk("vpalloc_region: all %u pages free again\n", REGION_PAGES);
}

KTEST(vpalloc_kernel)
{
	size_t before = vpfree_count(NULL), n;
	struct vpallocator *k = kernel_vpallocator();

	KEXPECT_EQ(k->start, KVIRT_START);
	KEXPECT_EQ(k->n_pages, (KVIRT_END - KVIRT_START) / PAGE_SIZE);
	for (n = 0; n < 32; n++) {
		/* vpa is ignored for the kernel: NULL and the kernel's own both work. */
		live[n].pages = vpalloc(n % 2 ? NULL : k, 1 + n, 1 + 2 * n, &live[n].start);
		KEXPECT(live[n].pages >= 1 + n && live[n].pages <= 1 + 2 * n);
		KEXPECT(live[n].start >= KVIRT_START);
		KEXPECT(live[n].start + live[n].pages * PAGE_SIZE <= KVIRT_END);
		for (size_t i = 0; i < n; i++)
			KEXPECT(!overlaps(live[i].start, live[i].pages, live[n].start, live[n].pages));
	}
	printk("vpalloc_kernel: 32 ranges in 0x%08x-0x%08x, disjoint\n", KVIRT_START, KVIRT_END - 1);
	while (n--)
		vpfree(n % 3 ? &region : NULL, live[n].start, live[n].pages);
	KEXPECT_EQ(vpfree_count(NULL), before);
	printk("vpalloc_kernel: free count back to %u\n", before);
}

KTEST(vpfree_outside)
{
	make_region();
	printk("vpfree_outside: freeing 0x80000000\n");
	vpfree(&region, 0x80000000, 1);
}

KTEST(vpfree_double)
{
	uintptr_t a;

	make_region();
	KEXPECT_EQ(vpalloc(&region, 2, 2, &a), 2);
	vpfree(&region, a, 2);
	printk("vpfree_double: freeing 0x%08x again\n", a);
	vpfree(&region, a, 2);
}

KTEST(vpfree_unaligned)
{
	uintptr_t a;

	make_region();
	KEXPECT_EQ(vpalloc(&region, 2, 2, &a), 2);
	printk("vpfree_unaligned: freeing 0x%08x\n", a + 8);
	vpfree(&region, a + 8, 2);
}
