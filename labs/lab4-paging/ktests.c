/*
 * Lab 4 in-kernel tests: map_mem, the software walk, directories that are
 * not active, shared kernel page tables, the recursive slot.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/x86.h"
#include "lib/string.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/paging.h"

#define USER_VA		0x40000000
#define OTHER_VA	0x50000000

static uint32_t lookup_pa(struct pagedir *pd, uintptr_t va, uint32_t *flags)
{
	uintptr_t pa;

	if (vm_translate(pd, va, &pa, flags) < 0)
		return 0xFFFFFFFF;
	return pa;
}

/* A page of kernel memory the lab-4 way (kvmalloc comes in lab 5). */
static uintptr_t kernel_page(uintptr_t *pa)
{
	uintptr_t va;

	KEXPECT_EQ(ppalloc(1, 1, pa), 1);
	KEXPECT_EQ(vpalloc(NULL, 1, 1, &va), 1);
	KEXPECT_EQ(map_mem(NULL, *pa, va, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	return va;
}

static void free_kernel_page(uintptr_t va, uintptr_t pa)
{
	KEXPECT_EQ(map_mem(NULL, 0, va, 1, 0), 0);
	vpfree(NULL, va, 1);
	ppfree(pa, 1);
}

KTEST(paging_init)
{
	uint32_t flags;
	uintptr_t code = (uintptr_t)&ktest_paging_init;

	KEXPECT_EQ(lookup_pa(NULL, 0, &flags), 0xFFFFFFFF);
	KEXPECT_EQ(lookup_pa(NULL, 0x100000, &flags), 0xFFFFFFFF);
	KEXPECT_EQ(lookup_pa(NULL, code, &flags), code - KERNBASE);
	KEXPECT(flags & PTE_PRESENT);
	KEXPECT_EQ(current_pagedir(), kernel_pagedir());
	KEXPECT_EQ(kernel_pagedir()->phys, read_cr3());
	printk("paging_init: 0x00000000 not mapped, 0x00100000 not mapped\n");
	printk("paging_init: kernel code 0x%08x -> 0x%08x\n", code, lookup_pa(NULL, code, &flags));
}

KTEST(recursive_slot)
{
	uint32_t *pd = (uint32_t *)(RECURSIVE_BASE + RECURSIVE_SLOT * PAGE_SIZE);
	uintptr_t code = (uintptr_t)&ktest_recursive_slot;
	uint32_t *kt = (uint32_t *)(RECURSIVE_BASE + PDE_INDEX(code) * PAGE_SIZE);
	uint32_t flags;

	KEXPECT_EQ(PTE_ADDR(pd[RECURSIVE_SLOT]), read_cr3());
	KEXPECT_EQ(pd[USER_PDES], kernel_pagedir()->virt[USER_PDES]);
	if (lookup_pa(NULL, code, &flags) == 0xFFFFFFFF)
		ktest_fail("vm_translate(NULL, 0x%08x) says not mapped: the kernel's own code "
			   "is mapped (exercise 1)", code);
	KEXPECT_EQ(PTE_ADDR(kt[PTE_INDEX(code)]), PTE_ADDR(lookup_pa(NULL, code, &flags)));
	/* The window is the page tables seen as pages, not a mapping. */
	static const uintptr_t window_va[] = {
		RECURSIVE_BASE, RECURSIVE_BASE + PDE_INDEX(KERNBASE) * PAGE_SIZE,
		RECURSIVE_BASE + RECURSIVE_SLOT * PAGE_SIZE, 0xFFFFFFFC,
	};
	for (unsigned i = 0; i < sizeof(window_va) / sizeof(window_va[0]); i++)
		if (lookup_pa(NULL, window_va[i], &flags) != 0xFFFFFFFF)
			ktest_fail("vm_translate(NULL, 0x%08x) says mapped (to 0x%08x): addresses "
				   "of the recursive slot must give -1 (exercise 1)", window_va[i],
				   lookup_pa(NULL, window_va[i], &flags));
	KEXPECT_EQ(kvpd[PDE_INDEX(code) - USER_PDES].table, kt);
	printk("recursive_slot: 0xfffff000 is the directory, 0xffc00000 + 4 KiB * i its table i\n");
	printk("recursive_slot: vm_translate says the window is not mapped\n");
}

KTEST(null_read)
{
	volatile uint32_t *null = 0;

	printk("null_read: reading address 0\n");
	printk("null_read: read 0x%x\n", *null);
}

KTEST(map_roundtrip)
{
	uintptr_t pa, va, alias;
	uint32_t flags;
	struct ppstats before, after;
	size_t tables = kernel_page_tables();

	ppstats(&before);
	KEXPECT_EQ(ppalloc(4, 4, &pa), 4);
	KEXPECT_EQ(vpalloc(NULL, 4, 4, &va), 4);
	KEXPECT_EQ(vpalloc(NULL, 4, 4, &alias), 4);
	KEXPECT_EQ(map_mem(NULL, pa, va, 4, PTE_PRESENT | PTE_WRITABLE), 0);
	KEXPECT_EQ(map_mem(NULL, pa, alias, 4, PTE_PRESENT), 0);
	for (int i = 0; i < 4; i++) {
		KEXPECT_EQ(lookup_pa(NULL, va + i * PAGE_SIZE + 123, &flags), pa + i * PAGE_SIZE + 123);
		KEXPECT_EQ(flags & (PTE_PRESENT | PTE_WRITABLE | PTE_USER), PTE_PRESENT | PTE_WRITABLE);
		KEXPECT_EQ(lookup_pa(NULL, alias + i * PAGE_SIZE, &flags), pa + i * PAGE_SIZE);
		KEXPECT_EQ(flags & PTE_WRITABLE, 0);
	}
	for (int i = 0; i < 4 * PAGE_SIZE / 4; i++)
		((uint32_t *)va)[i] = 0x5a000000 + i;
	for (int i = 0; i < 4 * PAGE_SIZE / 4; i++)
		KEXPECT_EQ(((uint32_t *)alias)[i], 0x5a000000 + i);
	printk("map_roundtrip: kernel pages written through one mapping, read through another\n");

	/* The user half of the init directory: a user page table on demand. */
	KEXPECT_EQ(kernel_pagedir()->vpdes[PDE_INDEX(USER_VA)].table, NULL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa, USER_VA, 1, PTE_PRESENT | PTE_WRITABLE | PTE_USER), 0);
	KEXPECT(kernel_pagedir()->vpdes[PDE_INDEX(USER_VA)].table != NULL);
	KEXPECT_EQ(lookup_pa(NULL, USER_VA, &flags), pa);
	KEXPECT(flags & PTE_USER);
	KEXPECT_EQ(*(uint32_t *)USER_VA, 0x5a000000);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 1, 0), 0);
	KEXPECT_EQ(lookup_pa(NULL, USER_VA, &flags), 0xFFFFFFFF);
	printk("map_roundtrip: user page mapped, read, unmapped\n");

	KEXPECT_EQ(map_mem(NULL, 0, va, 4, 0), 0);
	KEXPECT_EQ(map_mem(NULL, 0, alias, 4, 0), 0);
	for (int i = 0; i < 4; i++)
		KEXPECT_EQ(lookup_pa(NULL, va + i * PAGE_SIZE, &flags), 0xFFFFFFFF);
	vpfree(NULL, alias, 4);
	vpfree(NULL, va, 4);
	ppfree(pa, 4);
	ppstats(&after);
	/* Page tables stay: the user one, and kernel ones if new; the rest is back. */
	KEXPECT_EQ(after.free, before.free - 1 - (kernel_page_tables() - tables));
	printk("map_roundtrip: unmapped, walk says not mapped\n");
}

KTEST(map_errors)
{
	uint32_t flags;

	/* Good arguments first: the errors below are about the arguments only. */
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0x1000, USER_VA, 1, PTE_PRESENT), 0);
	KEXPECT_EQ(lookup_pa(NULL, USER_VA, &flags), 0x1000);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 1, 0), 0);
	KEXPECT_EQ(map_mem(NULL, 0x1000, USER_VA, 1, PTE_PRESENT), MAP_EINVAL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0x1001, USER_VA, 1, PTE_PRESENT), MAP_EINVAL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0x1000, USER_VA + 8, 1, PTE_PRESENT), MAP_EINVAL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0x1000, KERNBASE - PAGE_SIZE, 2, PTE_PRESENT), MAP_EINVAL);
	KEXPECT_EQ(map_mem(NULL, 0x1000, RECURSIVE_BASE, 1, PTE_PRESENT), MAP_EINVAL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0x1000, 0, 1, PTE_PRESENT), MAP_EINVAL);
	printk("map_errors: bad arguments give MAP_EINVAL\n");
}

static struct pagedir second;

static void make_second(uintptr_t *dir_pa, uintptr_t *dir_va)
{
	*dir_va = kernel_page(dir_pa);
	pagedir_setup(&second, *dir_pa, (uint32_t *)*dir_va);
	KEXPECT_EQ(second.virt[RECURSIVE_SLOT] & ~0xFFFu, *dir_pa);
}

KTEST(map_inactive)
{
	uintptr_t dir_pa, dir_va, pa, va;
	uint32_t flags;

	make_second(&dir_pa, &dir_va);
	va = kernel_page(&pa);
	*(uint32_t *)va = 0x0123abcd;
	/* Map into the directory that is not active: no CR3 switch. */
	KEXPECT_EQ(map_mem(&second, pa, OTHER_VA, 1, PTE_PRESENT | PTE_WRITABLE | PTE_USER), 0);
	KEXPECT_EQ(read_cr3(), kernel_pagedir()->phys);
	KEXPECT_EQ(lookup_pa(&second, OTHER_VA, &flags), pa);
	KEXPECT_EQ(lookup_pa(kernel_pagedir(), OTHER_VA, &flags), 0xFFFFFFFF);
	printk("map_inactive: mapped 0x%08x in a directory that is not active\n", OTHER_VA);
	pagedir_switch(&second);
	KEXPECT_EQ(read_cr3(), dir_pa);
	KEXPECT_EQ(*(uint32_t *)OTHER_VA, 0x0123abcd);
	*(uint32_t *)OTHER_VA = 0x4567;
	pagedir_switch(kernel_pagedir());
	KEXPECT_EQ(*(uint32_t *)va, 0x4567);
	printk("map_inactive: switched to it, read and wrote 0x%08x, switched back\n", OTHER_VA);
	pagedir_teardown(&second);
	free_kernel_page(va, pa);
	free_kernel_page(dir_va, dir_pa);
}

KTEST(kernel_table_shared)
{
	uintptr_t dir_pa, dir_va, pa, va, big;
	size_t tables;
	uint32_t flags;

	make_second(&dir_pa, &dir_va);
	tables = kernel_page_tables();
	/* 1024 pages starting on a 4 MiB boundary: a kernel page table that
	 * does not exist yet, created after the second directory. */
	KEXPECT_EQ(vpalloc(NULL, 1024, 1024, &big), 1024);
	KEXPECT_EQ(big % (4 << 20), 0);
	KEXPECT_EQ(kvpd[PDE_INDEX(big) - USER_PDES].table, NULL);
	va = kernel_page(&pa);
	*(uint32_t *)va = 0xfeedf00d;
	KEXPECT_EQ(map_mem(NULL, pa, big, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	KEXPECT_EQ(kernel_page_tables(), tables + 1);
	/* The same table (the CPU may have set status bits in the active one). */
	KEXPECT_EQ(second.virt[PDE_INDEX(big)] & ~(PTE_ACCESSED | PTE_DIRTY),
		   kernel_pagedir()->virt[PDE_INDEX(big)] & ~(PTE_ACCESSED | PTE_DIRTY));
	printk("kernel_table_shared: new kernel page table for 0x%08x is in both directories\n", big);
	pagedir_switch(&second);
	KEXPECT_EQ(*(uint32_t *)big, 0xfeedf00d);
	KEXPECT_EQ(lookup_pa(NULL, big, &flags), pa);
	pagedir_switch(kernel_pagedir());
	printk("kernel_table_shared: read through it with the second directory active\n");
	KEXPECT_EQ(map_mem(NULL, 0, big, 1, 0), 0);
	vpfree(NULL, big, 1024);
	pagedir_teardown(&second);
	free_kernel_page(va, pa);
	free_kernel_page(dir_va, dir_pa);
}

#define HOLD_MAX 512
static struct { uintptr_t pa; size_t n; } held[HOLD_MAX];

/* Takes every free physical page; returns how many holdings. */
static size_t hold_all_memory(void)
{
	size_t n = 0;

	while (n < HOLD_MAX && (held[n].n = ppalloc(1, 1 << 30, &held[n].pa)))
		n++;
	KEXPECT(n < HOLD_MAX);
	return n;
}

KTEST(map_oom)
{
	struct ppstats st;
	size_t kfree = vpfree_count(NULL), kfree2, n;
	uintptr_t dir_pa, dir_va, one;

	make_second(&dir_pa, &dir_va);
	KEXPECT_EQ(ppalloc(1, 1, &one), 1);
	n = hold_all_memory();
	ppstats(&st);
	KEXPECT_EQ(st.free, 0);
	KEXPECT_EQ(map_mem(&second, 0x1000, USER_VA, 1, PTE_PRESENT | PTE_WRITABLE), MAP_ENOMEM);
	/* Over two page tables: neither may stay behind. */
	KEXPECT_EQ(map_mem(&second, 0x1000, OTHER_VA - PAGE_SIZE, 2, PTE_PRESENT), MAP_ENOMEM);
	KEXPECT_EQ(second.vpdes[PDE_INDEX(USER_VA)].table, NULL);
	KEXPECT_EQ(second.virt[PDE_INDEX(USER_VA)], 0);
	KEXPECT_EQ(second.vpdes[PDE_INDEX(OTHER_VA - PAGE_SIZE)].table, NULL);
	ppstats(&st);
	KEXPECT_EQ(st.free, 0);
	printk("map_oom: out of memory gives MAP_ENOMEM and changes nothing\n");
	/* One free page: the first of two page tables is made, the second is
	 * not; the first must be undone. */
	ppfree(one, 1);
	kfree2 = vpfree_count(NULL);
	KEXPECT_EQ(map_mem(&second, 0x1000, OTHER_VA - PAGE_SIZE, 2, PTE_PRESENT), MAP_ENOMEM);
	KEXPECT_EQ(second.vpdes[PDE_INDEX(OTHER_VA - PAGE_SIZE)].table, NULL);
	KEXPECT_EQ(second.virt[PDE_INDEX(OTHER_VA - PAGE_SIZE)], 0);
	KEXPECT_EQ(second.vpdes[PDE_INDEX(OTHER_VA)].table, NULL);
	ppstats(&st);
	KEXPECT_EQ(st.free, 1);
	KEXPECT_EQ(vpfree_count(NULL), kfree2);
	/* ... and that one page is enough for one table: the first was made. */
	KEXPECT_EQ(map_mem(&second, 0x1000, OTHER_VA - PAGE_SIZE, 1, PTE_PRESENT), 0);
	printk("map_oom: one page for two tables: MAP_ENOMEM, the first table undone\n");
	/* With one page free again the first map succeeds. */
	while (n--)
		ppfree(held[n].pa, held[n].n);
	KEXPECT_EQ(map_mem(&second, 0x1000, USER_VA, 1, PTE_PRESENT), 0);
	pagedir_teardown(&second);
	free_kernel_page(dir_va, dir_pa);
	KEXPECT_EQ(vpfree_count(NULL), kfree);
	printk("map_oom: works again once memory is free\n");
}

/* Every free page dirty: page tables made from them must come out empty. */
static void dirty_free_memory(void)
{
	uintptr_t win, pa;
	size_t n;

	/* The window's own page table first, while there is memory for it. */
	win = kernel_page(&pa);
	ppfree(pa, 1);
	n = hold_all_memory();
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < held[i].n; p++) {
			KEXPECT_EQ(map_mem(NULL, held[i].pa + p * PAGE_SIZE, win, 1,
					   PTE_PRESENT | PTE_WRITABLE), 0);
			memset((void *)win, 0xff, PAGE_SIZE);
		}
	KEXPECT_EQ(map_mem(NULL, 0, win, 1, 0), 0);
	vpfree(NULL, win, 1);
	while (n--)
		ppfree(held[n].pa, held[n].n);
}

static void expect_alone(struct pagedir *pd, uintptr_t base, uintptr_t pa)
{
	uint32_t flags;

	KEXPECT_EQ(lookup_pa(pd, base, &flags), pa);
	for (int i = 1; i < 1024; i++)
		if (lookup_pa(pd, base + i * PAGE_SIZE, &flags) != 0xFFFFFFFF)
			ktest_fail("new page table of 0x%08x: entry %d is not empty", base, i);
}

KTEST(table_zeroed)
{
	uintptr_t pa, big;

	KEXPECT_EQ(vpalloc(NULL, 1024, 1024, &big), 1024);
	KEXPECT_EQ(kvpd[PDE_INDEX(big) - USER_PDES].table, NULL);
	dirty_free_memory();
	KEXPECT_EQ(ppalloc(1, 1, &pa), 1);
	KEXPECT_EQ(map_mem(NULL, pa, big, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	expect_alone(NULL, big, pa);
	printk("table_zeroed: a new kernel page table made from a dirty page is empty\n");
	KEXPECT_EQ(kernel_pagedir()->vpdes[PDE_INDEX(USER_VA)].table, NULL);
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa, USER_VA, 1, PTE_PRESENT | PTE_USER), 0);
	expect_alone(kernel_pagedir(), USER_VA, pa);
	printk("table_zeroed: so is a new user page table\n");
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 1, 0), 0);
	KEXPECT_EQ(map_mem(NULL, 0, big, 1, 0), 0);
	vpfree(NULL, big, 1024);
	ppfree(pa, 1);
}

/* A mapping changed under a TLB entry the CPU already has. */
KTEST(tlb_remap)
{
	uintptr_t pa1, pa2, va1, va2, va;

	va1 = kernel_page(&pa1);
	va2 = kernel_page(&pa2);
	*(volatile uint32_t *)va1 = 0x11111111;
	*(volatile uint32_t *)va2 = 0x22222222;
	KEXPECT_EQ(vpalloc(NULL, 1, 1, &va), 1);
	KEXPECT_EQ(map_mem(NULL, pa1, va, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	KEXPECT_EQ(*(volatile uint32_t *)va, 0x11111111);
	KEXPECT_EQ(map_mem(NULL, pa2, va, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	KEXPECT_EQ(*(volatile uint32_t *)va, 0x22222222);
	KEXPECT_EQ(map_mem(NULL, 0, va, 1, 0), 0);
	vpfree(NULL, va, 1);
	printk("tlb_remap: a kernel page remapped is read from its new page\n");
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa1, USER_VA, 1, PTE_PRESENT), 0);
	KEXPECT_EQ(*(volatile uint32_t *)USER_VA, 0x11111111);
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa2, USER_VA, 1, PTE_PRESENT), 0);
	KEXPECT_EQ(*(volatile uint32_t *)USER_VA, 0x22222222);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 1, 0), 0);
	printk("tlb_remap: so is a user page of the active directory\n");
	free_kernel_page(va2, pa2);
	free_kernel_page(va1, pa1);
}

/* The flags vm_translate reports: exactly the PTE's flag bits. */
static void expect_flags(struct pagedir *pd, uintptr_t va, uintptr_t pa, uint32_t want,
			 const char *what)
{
	uint32_t flags = 0;

	if (lookup_pa(pd, va, &flags) != pa)
		ktest_fail("%s 0x%08x: vm_translate gives 0x%08x, expected 0x%08x", what, va,
			   lookup_pa(pd, va, &flags), pa);
	if (flags & ~PTE_FLAGS)
		ktest_fail("%s 0x%08x: vm_translate's flags are 0x%08x: only the PTE's flag "
			   "bits (PTE_FLAGS), not the frame address (exercise 1)", what, va, flags);
	if ((flags & ~(PTE_ACCESSED | PTE_DIRTY)) != want)
		ktest_fail("%s 0x%08x: flags 0x%03x, expected exactly 0x%03x (plus the CPU's "
			   "accessed/dirty bits): map_mem keeps PTE_PRESENT, PTE_WRITABLE and "
			   "PTE_USER of its flags and nothing else (exercise 3)", what, va, flags, want);
}

KTEST(translate_flags)
{
	uintptr_t pa, va;

	KEXPECT_EQ(ppalloc(2, 2, &pa), 2);
	KEXPECT_EQ(vpalloc(NULL, 2, 2, &va), 2);
	/* Extra bits in flags (PWT, PCD, global, a software bit) are dropped. */
	KEXPECT_EQ(map_mem(NULL, pa, va, 1, PTE_PRESENT | PTE_WRITABLE | 0x008 | 0x010 | 0x100 | 0x200), 0);
	KEXPECT_EQ(map_mem(NULL, pa + PAGE_SIZE, va + PAGE_SIZE, 1, PTE_PRESENT), 0);
	expect_flags(NULL, va, pa, PTE_PRESENT | PTE_WRITABLE, "kernel read-write page");
	expect_flags(NULL, va + PAGE_SIZE, pa + PAGE_SIZE, PTE_PRESENT, "kernel read-only page");
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa, USER_VA, 1, PTE_PRESENT | PTE_USER), 0);
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa, USER_VA + PAGE_SIZE, 1,
			   PTE_PRESENT | PTE_WRITABLE | PTE_USER), 0);
	expect_flags(NULL, USER_VA, pa, PTE_PRESENT | PTE_USER, "user read-only page");
	expect_flags(NULL, USER_VA + PAGE_SIZE, pa, PTE_PRESENT | PTE_WRITABLE | PTE_USER,
		     "user read-write page");
	printk("translate_flags: flags are exactly what was mapped\n");
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 2, 0), 0);
	KEXPECT_EQ(map_mem(NULL, 0, va, 2, 0), 0);
	vpfree(NULL, va, 2);
	ppfree(pa, 2);
}

/* Unmapping what has no page table is a no-op: no table is made for it,
 * and nothing is written through a table that is not there. */
KTEST(unmap_no_table)
{
	uintptr_t big;
	size_t tables = kernel_page_tables();
	struct ppstats before, after;

	KEXPECT_EQ(vpalloc(NULL, 1024, 1024, &big), 1024);
	KEXPECT_EQ(kvpd[PDE_INDEX(big) - USER_PDES].table, NULL);
	KEXPECT_EQ(kernel_pagedir()->vpdes[PDE_INDEX(OTHER_VA)].table, NULL);
	ppstats(&before);
	printk("unmap_no_table: unmapping pages that have no page table\n");
	KEXPECT_EQ(map_mem(NULL, 0, big, 16, 0), 0);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, OTHER_VA, 16, 0), 0);
	ppstats(&after);
	if (kernel_page_tables() != tables || kvpd[PDE_INDEX(big) - USER_PDES].table)
		ktest_fail("unmapping 0x%08x made a kernel page table: unmapping makes none", big);
	if (kernel_pagedir()->vpdes[PDE_INDEX(OTHER_VA)].table || after.free != before.free)
		ktest_fail("unmapping 0x%08x made a user page table: unmapping makes none", OTHER_VA);
	printk("unmap_no_table: returns 0, no page table made\n");
	vpfree(NULL, big, 1024);
}

/* A TLB entry must not outlive the mapping it caches. */
KTEST(tlb_unmap)
{
	uintptr_t pa, va;

	va = kernel_page(&pa);
	*(volatile uint32_t *)va = 0x600d;
	KEXPECT_EQ(*(volatile uint32_t *)va, 0x600d);	/* now in the TLB */
	KEXPECT_EQ(map_mem(NULL, 0, va, 1, 0), 0);
	printk("tlb_unmap: reading 0x%08x after unmapping it\n", va);
	uint32_t v = *(volatile uint32_t *)va;
	ktest_fail("read 0x%x from 0x%08x after map_mem unmapped it: the TLB still had it "
		   "(exercise 3: invlpg when unmapping, too)", v, va);
}

KTEST(tlb_unmap_user)
{
	uintptr_t pa, va;

	va = kernel_page(&pa);
	*(volatile uint32_t *)va = 0x600d;
	KEXPECT_EQ(map_mem(kernel_pagedir(), pa, USER_VA, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	KEXPECT_EQ(*(volatile uint32_t *)USER_VA, 0x600d);
	KEXPECT_EQ(map_mem(kernel_pagedir(), 0, USER_VA, 1, 0), 0);
	printk("tlb_unmap_user: reading 0x%08x after unmapping it\n", USER_VA);
	uint32_t v = *(volatile uint32_t *)USER_VA;
	ktest_fail("read 0x%x from 0x%08x after map_mem unmapped it in the active directory: "
		   "the TLB still had it (exercise 3: invlpg when unmapping, too)", v, USER_VA);
}

extern char _start[];

/* Exercise 4: the 1:1 alias of the boot code is gone, TLB included. The
 * CPU ran _start's page through it just after paging went on. */
KTEST(low_unmapped)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)_start;

	for (unsigned i = 0; i < USER_PDES; i++)
		if (kernel_pagedir()->virt[i])
			ktest_fail("user PDE %u (0x%08x) of the init directory is 0x%08x: exercise 4 "
				   "clears the whole user half, all of it", i, i << 22,
				   kernel_pagedir()->virt[i]);
	printk("low_unmapped: reading 0x%08x, the 1:1 alias of the entry code\n", (uintptr_t)p);
	uint32_t v = *p;
	ktest_fail("read 0x%x at 0x%08x: the boot 1:1 mapping still works (exercise 4: clear "
		   "the user PDEs, then reload CR3 to flush the TLB)", v, (uintptr_t)p);
}

/* Kernel PDEs never carry PTE_USER: the kernel half is the kernel's. */
KTEST(kernel_pde_flags)
{
	uintptr_t big, pa;
	uint32_t *pd = kernel_pagedir()->virt;

	KEXPECT_EQ(vpalloc(NULL, 1024, 1024, &big), 1024);
	KEXPECT_EQ(ppalloc(1, 1, &pa), 1);
	KEXPECT_EQ(map_mem(NULL, pa, big, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	for (unsigned i = USER_PDES; i < RECURSIVE_SLOT; i++)
		if ((pd[i] & PTE_PRESENT) && (pd[i] & (PTE_USER | PTE_WRITABLE)) != PTE_WRITABLE)
			ktest_fail("kernel PDE %u (0x%08x) is 0x%08x: a kernel page table's PDE is "
				   "PTE_PRESENT | PTE_WRITABLE, never PTE_USER (exercise 2)", i,
				   i << 22, pd[i]);
	printk("kernel_pde_flags: every kernel PDE is present and writable, not user\n");
	KEXPECT_EQ(map_mem(NULL, 0, big, 1, 0), 0);
	vpfree(NULL, big, 1024);
	ppfree(pa, 1);
}

/* A kernel page table that cannot be allocated: MAP_ENOMEM, nothing made,
 * and physical page 0 (where a failed ppalloc's address would point) is
 * not used as a page table. */
KTEST(map_oom_kernel)
{
	uintptr_t big, low, pa0;
	uint32_t saved[64];
	size_t n, tables;

	KEXPECT_EQ(vpalloc(NULL, 1024, 1024, &big), 1024);
	KEXPECT_EQ(kvpd[PDE_INDEX(big) - USER_PDES].table, NULL);
	low = kernel_page(&pa0);	/* a window on physical page 0 */
	tables = kernel_page_tables();
	KEXPECT_EQ(map_mem(NULL, 0, low, 1, PTE_PRESENT | PTE_WRITABLE), 0);
	for (int i = 0; i < 64; i++)
		saved[i] = ((volatile uint32_t *)low)[i];
	n = hold_all_memory();
	int err = map_mem(NULL, 0x1000, big, 1, PTE_PRESENT | PTE_WRITABLE);
	while (n--)
		ppfree(held[n].pa, held[n].n);
	if (err != MAP_ENOMEM)
		ktest_fail("map_mem at 0x%08x with no free page for its page table gave %d, "
			   "expected MAP_ENOMEM (exercise 2: check ppalloc)", big, err);
	if (kvpd[PDE_INDEX(big) - USER_PDES].table || kernel_page_tables() != tables ||
	    kernel_pagedir()->virt[PDE_INDEX(big)])
		ktest_fail("map_mem failed with MAP_ENOMEM but left a kernel page table for "
			   "0x%08x", big);
	for (int i = 0; i < 64; i++)
		if (((volatile uint32_t *)low)[i] != saved[i])
			ktest_fail("physical page 0 changed (word %d): a failed ppalloc's page "
				   "was used as a page table (exercise 2)", i);
	printk("map_oom_kernel: MAP_ENOMEM, no kernel page table made, page 0 untouched\n");
	KEXPECT_EQ(map_mem(NULL, 0, low, 1, 0), 0);
	vpfree(NULL, low, 1);
	ppfree(pa0, 1);
	vpfree(NULL, big, 1024);
}
