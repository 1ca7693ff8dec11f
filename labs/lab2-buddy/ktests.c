/*
 * Lab 2 in-kernel tests: ppalloc/ppfree on the machine's real memory map.
 * Without paging beyond the boot tables, the tests check addresses and
 * counts, not page contents.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "mm/buddy.h"
#include "mm/ppalloc.h"

#define MAX_ALLOCS	1024

struct alloc {
	uintptr_t start;
	size_t pages;
};

static struct alloc allocs[MAX_ALLOCS];
extern char kernel_end[];

/* Is any page of [start, start + pages) one that must never be handed out? */
static const char *reserved_reason(uintptr_t start, size_t pages)
{
	uint64_t s = start, e = start + (uint64_t)pages * PAGE_SIZE;

	if (s < PAGE_SIZE)
		return "page 0";
	if (s < TRAMPOLINE_PHYS + PAGE_SIZE && e > TRAMPOLINE_PHYS)
		return "the SMP trampoline page";
	if (s < V2P(kernel_end) && e > KERNEL_PHYS)
		return "the kernel image";
	/* buddy.c keeps its metadata right behind struct buddy. */
	uintptr_t meta = V2P((uintptr_t)ppalloc_buddy());
	if (s < meta + buddy_meta_size(buddy_units(ppalloc_buddy())) && e > meta)
		return "ppalloc's own metadata";
	for (int i = 0; i < bootinfo.n_structures; i++)
		if (s < bootinfo.structures[i].end && e > bootinfo.structures[i].start)
			return "a multiboot structure";
	for (int i = 0; i < bootinfo.n_modules; i++)
		if (s < bootinfo.modules[i].end && e > bootinfo.modules[i].start)
			return "a multiboot module";
	for (int i = 0; i < bootinfo.n_regions; i++) {
		const struct memregion *r = &bootinfo.regions[i];
		if (r->type != MEM_AVAILABLE && s < r->end && e > r->start) {
			/* A reserved region may overlap an available one. */
			int covered = 0;
			for (int j = 0; j < bootinfo.n_regions; j++) {
				const struct memregion *a = &bootinfo.regions[j];
				if (a->type == MEM_AVAILABLE && a->start <= s && a->end >= e)
					covered = 1;
			}
			if (!covered)
				return "memory the map does not call available";
		}
	}
	return 0;
}

static void check_free_block(void *arg, unsigned order, size_t start)
{
	const char *why = reserved_reason(start * PAGE_SIZE, (size_t)1 << order);

	(void)arg;
	if (why)
		ktest_fail("free block at page %u (order %u) covers %s", start, order, why);
}

KTEST(ppalloc_boot)
{
	struct ppstats st;

	ppstats(&st);
	ppalloc_print();
	KEXPECT(st.free > 0);
	KEXPECT(st.free + st.reserved <= st.managed);
	buddy_for_each_free(ppalloc_buddy(), check_free_block, 0);
	printk("ppalloc_boot: no free block covers a reserved page\n");
	/* And the first pages handed out are free ones. */
	uintptr_t a;
	KEXPECT_EQ(ppalloc(1, 1, &a), 1);
	KEXPECT(reserved_reason(a, 1) == 0);
	ppfree(a, 1);
	ppstats(&st);
	KEXPECT(st.free > 0);
	printk("ppalloc_boot: ppalloc(1, 1) = 0x%08x, a free page\n", a);
}

KTEST(ppalloc_minmax)
{
	uintptr_t a = 1, b, c, d, e;
	struct ppstats before, after;

	ppstats(&before);
	printk("ppalloc_minmax: ppalloc(0, 1) = %u\n", ppalloc(0, 1, &a));
	printk("ppalloc_minmax: ppalloc(2, 1) = %u\n", ppalloc(2, 1, &a));
	KEXPECT_EQ(a, 1);	/* untouched on failure */
	printk("ppalloc_minmax: ppalloc(1, 1) = %u\n", ppalloc(1, 1, &a));
	printk("ppalloc_minmax: ppalloc(3, 3) = %u\n", ppalloc(3, 3, &b));
	printk("ppalloc_minmax: ppalloc(5, 8) = %u\n", ppalloc(5, 8, &c));
	unsigned top = buddy_orders(ppalloc_buddy());
	while (top > 0 && buddy_free_blocks(ppalloc_buddy(), top - 1) == 0)
		top--;
	KEXPECT(top > 0);
	size_t big = ppalloc(1, 1 << 30, &d);
	KEXPECT_EQ(big, (size_t)1 << (top - 1));	/* nothing of 2^30: the largest block */
	printk("ppalloc_minmax: ppalloc(1, 2^30) = the largest free block\n");
	KEXPECT((a | b | c | d) % PAGE_SIZE == 0);
	KEXPECT(c % (8 * PAGE_SIZE) == 0);	/* a buddy block is aligned to its size */
	/* The four runs are disjoint. */
	KEXPECT(b + 3 * PAGE_SIZE <= a || a + PAGE_SIZE <= b);
	KEXPECT(c + 8 * PAGE_SIZE <= a || a + PAGE_SIZE <= c);
	KEXPECT(c + 8 * PAGE_SIZE <= b || b + 3 * PAGE_SIZE <= c);
	KEXPECT(d + big * PAGE_SIZE <= c || c + 8 * PAGE_SIZE <= d);
	ppstats(&after);
	KEXPECT_EQ(after.free, before.free - 1 - 3 - 8 - big);
	ppfree(d, big);
	/* Freed pages are handed out again: the 3 pages fit where they were. */
	ppfree(b, 3);
	KEXPECT_EQ(ppalloc(3, 3, &e), 3);
	KEXPECT_EQ(e, b);
	ppfree(e, 3);
	ppfree(c, 8);
	ppfree(a, 1);
	ppstats(&after);
	KEXPECT_EQ(after.free, before.free);
	printk("ppalloc_minmax: free pages back to %u\n", after.free);
}

static size_t blocks_at_start[BUDDY_MAX_ORDER];

KTEST(ppalloc_exhaust)
{
	struct ppstats before, st;
	size_t n = 0, total = 0;
	uintptr_t x = 7;

	ppstats(&before);
	for (unsigned o = 0; o < buddy_orders(ppalloc_buddy()); o++)
		blocks_at_start[o] = buddy_free_blocks(ppalloc_buddy(), o);
	while (n < MAX_ALLOCS && (allocs[n].pages = ppalloc(1, 1 << 30, &allocs[n].start))) {
		const char *why = reserved_reason(allocs[n].start, allocs[n].pages);
		if (why)
			ktest_fail("ppalloc handed out 0x%08x (%u pages): %s",
				   allocs[n].start, allocs[n].pages, why);
		total += allocs[n++].pages;
	}
	KEXPECT(n < MAX_ALLOCS);
	KEXPECT_EQ(ppalloc(1, 1, &x), 0);
	KEXPECT_EQ(x, 7);
	ppstats(&st);
	KEXPECT_EQ(st.free, 0);
	KEXPECT_EQ(total, before.free);
	printk("ppalloc_exhaust: %u KiB handed out, none of it reserved\n", total * 4);
	while (n--)
		ppfree(allocs[n].start, allocs[n].pages);
	ppstats(&st);
	KEXPECT_EQ(st.free, before.free);
	for (unsigned o = 0; o < buddy_orders(ppalloc_buddy()); o++)
		KEXPECT_EQ(buddy_free_blocks(ppalloc_buddy(), o), blocks_at_start[o]);
	printk("ppalloc_exhaust: all free again, free lists as at boot\n");
}

KTEST(ppfree_double)
{
	uintptr_t a;

	KEXPECT_EQ(ppalloc(1, 1, &a), 1);
	ppfree(a, 1);
	printk("ppfree_double: freeing 0x%08x again\n", a);
	ppfree(a, 1);
}

KTEST(ppfree_wrong_size)
{
	uintptr_t a;

	KEXPECT_EQ(ppalloc(4, 4, &a), 4);
	printk("ppfree_wrong_size: freeing 2 of 4 pages at 0x%08x\n", a);
	ppfree(a, 2);
}

KTEST(ppfree_not_start)
{
	uintptr_t a;

	KEXPECT_EQ(ppalloc(4, 4, &a), 4);
	printk("ppfree_not_start: freeing 0x%08x\n", a + PAGE_SIZE);
	ppfree(a + PAGE_SIZE, 1);
}

KTEST(ppfree_kernel)
{
	uintptr_t a;

	/* The allocator works; only the kernel's pages are not its to free. */
	KEXPECT_EQ(ppalloc(2, 2, &a), 2);
	ppfree(a, 2);
	printk("ppfree_kernel: freeing the kernel's first page\n");
	ppfree(KERNEL_PHYS, 1);
}
