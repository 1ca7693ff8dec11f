/*
 * Lab 5 in-kernel tests: kvmalloc/kvfree, and page directories made with
 * them.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/x86.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/buddy.h"
#include "mm/kvmalloc.h"
#include "mm/paging.h"

#define MAX_LIVE	64
#define USER_VA		0x40000000

static struct { uintptr_t va; size_t n; } live[MAX_LIVE];

struct counts {
	size_t phys, virt;
};

static struct counts counts(void)
{
	struct ppstats st;

	ppstats(&st);
	return (struct counts){ st.free, vpfree_count(NULL) };
}

static void fill_pages(uintptr_t va, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n * PAGE_SIZE / 4; i += 97)
		((uint32_t *)va)[i] = seed ^ i;
}

static void check(uintptr_t va, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n * PAGE_SIZE / 4; i += 97)
		if (((uint32_t *)va)[i] != (seed ^ i))
			ktest_fail("page 0x%08x lost its contents", va + i * 4);
}

KTEST(kvmalloc_sizes)
{
	struct counts before = counts(), after;
	uintptr_t pa;
	uint32_t flags;

	for (size_t n = 1; n <= 48; n++) {
		KEXPECT_EQ(kvmalloc(n, n, &live[n].va), n);
		live[n].n = n;
		KEXPECT(live[n].va >= KVIRT_START && live[n].va < KVIRT_END);
		KEXPECT_EQ(live[n].va % PAGE_SIZE, 0);
		for (size_t i = 0; i < n; i++) {
			KEXPECT_EQ(vm_translate(NULL, live[n].va + i * PAGE_SIZE, &pa, &flags), 0);
			KEXPECT(flags & PTE_WRITABLE);
		}
		fill_pages(live[n].va, n, n * 0x01010101);
	}
	for (size_t n = 1; n <= 48; n++)
		check(live[n].va, n, n * 0x01010101);
	printk("kvmalloc_sizes: 1..48 pages, mapped, written and read back\n");
	for (size_t n = 48; n >= 1; n--) {
		kvfree(live[n].va, n);
		KEXPECT_EQ(vm_translate(NULL, live[n].va, &pa, &flags), -1);
	}
	after = counts();
	KEXPECT_EQ(after.virt, before.virt);
	KEXPECT(after.phys + 8 >= before.phys);	/* at most a few new kernel page tables */
	printk("kvmalloc_sizes: kvfree unmapped them\n");
}

static uint32_t rng = 12345;

static uint32_t next_random(void)
{
	rng = rng * 1103515245 + 12345;
	return rng >> 8;
}

static void sequence(int steps)
{
	for (int s = 0; s < steps; s++) {
		size_t i = next_random() % MAX_LIVE;
		if (live[i].n) {
			check(live[i].va, live[i].n, i);
			kvfree(live[i].va, live[i].n);
			live[i].n = 0;
		} else {
			size_t want = 1 + next_random() % 16;
			live[i].n = kvmalloc(1, want, &live[i].va);
			KEXPECT(live[i].n >= 1 && live[i].n <= want);
			fill_pages(live[i].va, live[i].n, i);
		}
	}
	for (size_t i = 0; i < MAX_LIVE; i++)
		if (live[i].n) {
			kvfree(live[i].va, live[i].n);
			live[i].n = 0;
		}
}

KTEST(kvmalloc_sequence)
{
	struct counts before, after;

	sequence(3000);		/* warm up: creates the kernel page tables it needs */
	before = counts();
	rng = 12345;
	sequence(3000);
	after = counts();
	KEXPECT_EQ(after.phys, before.phys);
	KEXPECT_EQ(after.virt, before.virt);
	printk("kvmalloc_sequence: 3000 steps, free physical %u and virtual %u pages as before\n",
	       after.phys, after.virt);
}

#define HOLD_MAX 512
static struct { uintptr_t pa; size_t n; } held[HOLD_MAX];
static uintptr_t spare[10];

KTEST(kvmalloc_oom)
{
	struct counts before, during;
	size_t n = 0;
	uintptr_t va = 0x1234;

	KEXPECT_EQ(kvmalloc(16, 16, &va), 16);	/* page tables for what follows */
	kvfree(va, 16);
	before = counts();
	/* Leave 10 physical pages: a 16-page kvmalloc must fail cleanly. */
	for (int i = 0; i < 10; i++)
		KEXPECT_EQ(ppalloc(1, 1, &spare[i]), 1);
	while (n < HOLD_MAX && (held[n].n = ppalloc(1, 1 << 30, &held[n].pa)))
		n++;
	KEXPECT(n < HOLD_MAX);
	for (int i = 0; i < 10; i++)
		ppfree(spare[i], 1);
	during = counts();
	KEXPECT_EQ(during.phys, 10);
	va = 0x1234;
	KEXPECT_EQ(kvmalloc(16, 16, &va), 0);
	KEXPECT_EQ(va, 0x1234);
	KEXPECT_EQ(counts().phys, 10);
	KEXPECT_EQ(counts().virt, before.virt);
	printk("kvmalloc_oom: 16 pages with 10 free: 0, nothing leaked\n");
	/* min..max as in ppalloc: between 1 and 16 pages is possible. */
	size_t got = kvmalloc(1, 16, &va);
	KEXPECT(got >= 1 && got <= 10);
	kvfree(va, got);
	KEXPECT_EQ(counts().phys, 10);
	printk("kvmalloc_oom: 1..16 pages with 10 free: %u\n", got);
	KEXPECT_EQ(kvmalloc(10, 10, &va), 10);
	kvfree(va, 10);
	while (n--)
		ppfree(held[n].pa, held[n].n);
	KEXPECT_EQ(counts().phys, before.phys);
	KEXPECT_EQ(counts().virt, before.virt);
	printk("kvmalloc_oom: all memory back\n");
}

KTEST(pagedir_create)
{
	struct pagedir *pds[3];
	uintptr_t page[3];
	struct counts before;

	/* Warm up the kernel page tables these allocations use. */
	pds[0] = pagedir_create();
	KEXPECT(pds[0] != NULL);
	pagedir_destroy(pds[0]);
	before = counts();
	for (int i = 0; i < 3; i++) {
		KEXPECT((pds[i] = pagedir_create()) != NULL);
		KEXPECT_EQ(kvmalloc(1, 1, &page[i]), 1);
		*(uint32_t *)page[i] = 0xd0d0 + i;
		uintptr_t pa;
		uint32_t flags;
		KEXPECT_EQ(vm_translate(NULL, page[i], &pa, &flags), 0);
		KEXPECT_EQ(map_mem(pds[i], pa, USER_VA, 1, PTE_PRESENT | PTE_WRITABLE | PTE_USER), 0);
	}
	for (int i = 0; i < 3; i++) {
		pagedir_switch(pds[i]);
		KEXPECT_EQ(*(uint32_t *)USER_VA, 0xd0d0 + i);
	}
	pagedir_switch(kernel_pagedir());
	printk("pagedir_create: three directories, the same address, three pages\n");
	for (int i = 0; i < 3; i++) {
		pagedir_destroy(pds[i]);
		kvfree(page[i], 1);
	}
	KEXPECT_EQ(counts().phys, before.phys);
	KEXPECT_EQ(counts().virt, before.virt);
	printk("pagedir_create: destroyed, all pages back\n");
}

KTEST(kvfree_unmapped)
{
	uintptr_t va;

	KEXPECT_EQ(vpalloc(NULL, 2, 2, &va), 2);
	printk("kvfree_unmapped: freeing 0x%08x, never mapped\n", va);
	kvfree(va, 2);
}

KTEST(kvfree_wrong_size)
{
	uintptr_t va;

	KEXPECT_EQ(kvmalloc(4, 4, &va), 4);
	/* The check comes before anything is freed: the panic names kvfree. */
	printk("kvfree_wrong_size: freeing 3 of the 4 pages at 0x%08x\n", va);
	kvfree(va, 3);
}

/*
 * The map_mem step of kvmalloc fails when the kernel page table it needs
 * cannot be allocated. To get there: hold kernel virtual pages until every
 * free one lies under a page-directory entry without a page table, and
 * leave exactly one physical page free. kvmalloc(1, 1) then takes that page
 * and fails to map it: it must give the page back.
 */
#define KV_HOLD 16384
static uintptr_t kvheld[KV_HOLD];

static void count_tabled(void *arg, unsigned order, size_t start)
{
	uintptr_t va = KVIRT_START + start * PAGE_SIZE;
	uintptr_t end = va + ((uintptr_t)PAGE_SIZE << order);

	for (; va < end; va = (va & ~(uintptr_t)0x3FFFFF) + 0x400000)
		if (kvpd[PDE_INDEX(va) - USER_PDES].table != NULL)
			(*(size_t *)arg)++;
}

static size_t free_under_tables(void)
{
	size_t n = 0;

	buddy_for_each_free(kernel_vpallocator()->buddy, count_tabled, &n);
	return n;
}

KTEST(kvmalloc_map_fails)
{
	size_t nk = 0, n = 0, tables;
	uintptr_t va = 0x1234, one;
	struct counts before;

	while (free_under_tables() > 0) {
		KEXPECT(nk < KV_HOLD);
		KEXPECT_EQ(vpalloc(NULL, 1, 1, &kvheld[nk]), 1);
		nk++;
	}
	KEXPECT_EQ(ppalloc(1, 1, &one), 1);
	while (n < HOLD_MAX && (held[n].n = ppalloc(1, 1 << 30, &held[n].pa)))
		n++;
	KEXPECT(n < HOLD_MAX);
	ppfree(one, 1);
	before = counts();
	tables = kernel_page_tables();
	KEXPECT_EQ(before.phys, 1);
	KEXPECT_EQ(kvmalloc(1, 1, &va), 0);
	KEXPECT_EQ(va, 0x1234);
	KEXPECT_EQ(counts().phys, 1);
	KEXPECT_EQ(counts().virt, before.virt);
	printk("kvmalloc_map_fails: no page table for the range: 0, the page given back\n");
	/* With a second page for the table, the same call works. */
	n--;
	ppfree(held[n].pa, held[n].n);
	KEXPECT_EQ(kvmalloc(1, 1, &va), 1);
	KEXPECT_EQ(kernel_page_tables(), tables + 1);
	kvfree(va, 1);
	while (n--)
		ppfree(held[n].pa, held[n].n);
	while (nk--)
		vpfree(NULL, kvheld[nk], 1);
	printk("kvmalloc_map_fails: works once a page table can be made\n");
}

/*
 * The rollback, counted in pages: 4 pages free, a range in a PDE without a
 * page table. The first map takes a page for the table, so the fourth page
 * cannot be had: kvmalloc fails after mapping 3 pages and gives back all 3
 * (the new kernel page table stays: kernel tables are never freed).
 */
KTEST(kvmalloc_rollback)
{
	size_t nk = 0, n = 0, tables;
	uintptr_t va = 0x1234, four;
	struct counts before;

	while (free_under_tables() > 0) {
		KEXPECT(nk < KV_HOLD);
		KEXPECT_EQ(vpalloc(NULL, 1, 1, &kvheld[nk]), 1);
		nk++;
	}
	KEXPECT_EQ(ppalloc(4, 4, &four), 4);
	while (n < HOLD_MAX && (held[n].n = ppalloc(1, 1 << 30, &held[n].pa)))
		n++;
	KEXPECT(n < HOLD_MAX);
	ppfree(four, 4);
	before = counts();
	tables = kernel_page_tables();
	KEXPECT_EQ(before.phys, 4);
	printk("kvmalloc_rollback: kvmalloc(4, 4) with 4 free pages, one needed for a page table\n");
	size_t got = kvmalloc(4, 4, &va);
	if (got != 0)
		ktest_fail("kvmalloc(4, 4) = %u with 4 free pages of which the page table takes "
			   "one", got);
	KEXPECT_EQ(va, 0x1234);
	KEXPECT_EQ(kernel_page_tables(), tables + 1);
	if (counts().phys != 3)
		ktest_fail("kvmalloc failed after mapping 3 pages: %u pages free, expected 3 (4 "
			   "less the page table, which stays): the rollback gives back every page "
			   "it took (exercise 1)", counts().phys);
	if (counts().virt != before.virt)
		ktest_fail("kvmalloc failed: %u kernel virtual pages free, expected %u: the "
			   "rollback gives back the range", counts().virt, before.virt);
	printk("kvmalloc_rollback: 0, the 3 pages and the range given back\n");
	while (n--)
		ppfree(held[n].pa, held[n].n);
	while (nk--)
		vpfree(NULL, kvheld[nk], 1);
}

KTEST(kvfree_not_kvmalloc)
{
	printk("kvfree_not_kvmalloc: freeing the kernel image's first page\n");
	kvfree(KERNBASE + KERNEL_PHYS, 1);
}
