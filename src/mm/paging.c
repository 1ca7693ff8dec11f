//@ LAB 4 FILE
/*
 * Paging: map_mem and the page directories (see paging.h for the two views
 * and their invariants).
 *
 *   virtual address:  | PDE index (10) | PTE index (10) | offset (12) |
 *
 *   pd->virt[PDE index] --> page table (physical)      CPU's view
 *   pd->vpdes[i].table  --> the same table, mapped     kernel's view
 *   kvpd[i].table       --> kernel table i, through the recursive window
 *
 * User page tables get a page from ppalloc and a kernel virtual page from
 * vpalloc to be mapped at; kernel page tables are reached through the
 * recursive window, which shows them in every directory. Kernel page tables
 * are never freed: they are shared by every directory.
 */
//@ LAB 7 BEGIN
#include "kernel/lock.h"
//@ LAB 7 END

//@ LAB 8 BEGIN
#include "kernel/cpu.h"
#include "kernel/lock.h"
//@ LAB 8 END

#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
//@ LAB 8 BEGIN
#include "kernel/tlb.h"
//@ LAB 8 END
#include "lib/string.h"
//@ LAB 7 BEGIN
#include "mm/mmlock.h"
//@ LAB 7 END
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/paging.h"

#define PDE_KERNEL	(PTE_PRESENT | PTE_WRITABLE)
#define PDE_USER	(PTE_PRESENT | PTE_WRITABLE | PTE_USER)
#define PTE_ALLOWED	(PTE_PRESENT | PTE_WRITABLE | PTE_USER)

/* One more than the kernel PDEs: kvpd[KERNEL_PDES] is the recursive slot,
 * whose "page table" is the directory itself (window(RECURSIVE_SLOT)). So a
 * walk that does not stop at PDE 1023 reads PDEs as PTEs, as the MMU does. */
struct vpde kvpd[KERNEL_PDES + 1];
static struct pagedir init_pd;
static struct pagedir *active;	/* labs 4-7: the one CPU's; lab 8: per CPU */

extern uint32_t boot_pgdir[];
//@ LAB 7 BEGIN

/* The directory list, the kernel page tables (kvpd, and their PDEs in every
 * directory) and every PTE map_mem writes: map_mem, pagedir_setup and
 * pagedir_teardown hold it whole. Rank MM_RANK_PAGING (mm/mmlock.h): taken
 * after the heap's and kvmalloc's, before vpalloc's and ppalloc's, which
 * new tables need. vm_translate reads without it (an entry is one word). */
static struct lock pg_lock = LOCK_INIT("paging", MM_RANK_PAGING);
//@ LAB 7 END

static uint32_t *window(unsigned pdi)
{
	return (uint32_t *)(RECURSIVE_BASE + pdi * PAGE_SIZE);
}

static int is_kernel(uintptr_t va)
{
	return va >= KERNBASE;
}

struct pagedir *kernel_pagedir(void)
{
	return &init_pd;
}

/* The directory the calling CPU has loaded (lab 8: struct cpu keeps it,
 * every CPU its own). */
static struct pagedir *active_pd(void)
{
	struct pagedir *pd = active;

	//@ LAB 8 BEGIN
	irq_push();
	pd = mycpu()->pagedir;
	irq_pop();
	//@ LAB 8 END

	return pd;
}

struct pagedir *current_pagedir(void)
{
	return active_pd();
}

/* The page table of directory entry pdi (kernel ones are shared), or NULL. */
static uint32_t *table_at(struct pagedir *pd, unsigned pdi)
{
	if (pdi >= USER_PDES)
		return kvpd[pdi - USER_PDES].table;
	return pd->vpdes[pdi].table;
}

/* The page table that covers va, or NULL. */
static uint32_t *table_of(struct pagedir *pd, uintptr_t va)
{
	return table_at(pd, PDE_INDEX(va));
}

int vm_translate(struct pagedir *pd, uintptr_t virtual, uintptr_t *physical,
		 uint32_t *flags)
{
	//@ LAB 4 BEGIN
	uint32_t *table, pte;

	if (!pd)
		pd = active_pd();
	if (PDE_INDEX(virtual) == RECURSIVE_SLOT)
		return -1;
	table = table_of(pd, virtual);
	if (!table)
		return -1;
	pte = table[PTE_INDEX(virtual)];
	if (!(pte & PTE_PRESENT))
		return -1;
	*physical = PTE_ADDR(pte) | (virtual & (PAGE_SIZE - 1));
	*flags = pte & PTE_FLAGS;
	return 0;
	//@ LAB 4 STUB
	//@ /* LAB 4 exercise 1: the software walk (handouts/lab4-paging.md). */
	//@ (void)table_of, (void)pd, (void)virtual, (void)physical, (void)flags;
	//@ return -1;
	//@ LAB 4 END
}

/* A kernel page table appears in every directory at once. */
static int new_kernel_table(unsigned pdi)
{
	//@ LAB 4 BEGIN
	uintptr_t pa;
	struct pagedir *pd = &init_pd;

	if (!ppalloc(1, 1, &pa))
		return MAP_ENOMEM;
	do {
		pd->virt[pdi] = pa | PDE_KERNEL;
		pd = pd->next;
	} while (pd != &init_pd);
	invlpg((uintptr_t)window(pdi));
	memset(window(pdi), 0, PAGE_SIZE);
	kvpd[pdi - USER_PDES].table = window(pdi);
	return 0;
	//@ LAB 4 STUB
	//@ /* LAB 4 exercise 2: a kernel page table in every directory (handouts/lab4-paging.md). */
	//@ (void)pdi;
	//@ return MAP_ENOMEM;
	//@ LAB 4 END
}

static void free_kernel_table(unsigned pdi)
{
	uintptr_t pa = PTE_ADDR(init_pd.virt[pdi]);
	struct pagedir *pd = &init_pd;

	do {
		pd->virt[pdi] = 0;
		pd = pd->next;
	} while (pd != &init_pd);
	kvpd[pdi - USER_PDES].table = NULL;
	invlpg((uintptr_t)window(pdi));
	//@ LAB 8 BEGIN
	tlb_shootdown(0, (uintptr_t)window(pdi), 1);	/* every CPU, before the free */
	//@ LAB 8 END
	ppfree(pa, 1);
}

/* A user page table, mapped in kernel virtual memory for the vpde. */
static int new_user_table(struct pagedir *pd, unsigned pdi)
{
	uintptr_t pa, va;

	if (!ppalloc(1, 1, &pa))
		return MAP_ENOMEM;
	if (!vpalloc(NULL, 1, 1, &va)) {
		ppfree(pa, 1);
		return MAP_ENOMEM;
	}
	if (map_mem(NULL, pa, va, 1, PTE_PRESENT | PTE_WRITABLE) < 0) {
		vpfree(NULL, va, 1);
		ppfree(pa, 1);
		return MAP_ENOMEM;
	}
	memset((void *)va, 0, PAGE_SIZE);
	pd->vpdes[pdi].table = (uint32_t *)va;
	pd->virt[pdi] = pa | PDE_USER;
	return 0;
}

static void free_user_table(struct pagedir *pd, unsigned pdi)
{
	uintptr_t pa = PTE_ADDR(pd->virt[pdi]);
	uintptr_t va = (uintptr_t)pd->vpdes[pdi].table;

	pd->virt[pdi] = 0;
	pd->vpdes[pdi].table = NULL;
	if (pd == active_pd())
		invlpg((uintptr_t)window(pdi));
	//@ LAB 8 BEGIN
	/* The CPUs running in pd may cache the PDE (an invlpg anywhere drops
	 * cached PDEs, SDM vol. 3, 4.10.4.1) or the table's window page. */
	tlb_shootdown(pd->phys, (uintptr_t)window(pdi), 1);
	if (unmap_lazy(va, 1, va, 1))
		return;		/* the table page and its window: after the batch */
	//@ LAB 8 END
	map_mem(NULL, 0, va, 1, 0);
	vpfree(NULL, va, 1);
	ppfree(pa, 1);
}

static void free_table(struct pagedir *pd, unsigned pdi)
{
	if (pdi >= USER_PDES)
		free_kernel_table(pdi);
	else
		free_user_table(pd, pdi);
}

/* Creates the missing page tables for PDEs [first, last]; on failure frees
 * the ones it created, so the caller sees no change. */
static int ensure_tables(struct pagedir *pd, unsigned first, unsigned last)
{
	uint32_t created[1024 / 32] = { 0 };
	unsigned pdi;
	int err = 0;

	for (pdi = first; pdi <= last; pdi++) {
		if (table_at(pd, pdi))
			continue;
		err = pdi >= USER_PDES ? new_kernel_table(pdi) : new_user_table(pd, pdi);
		if (err)
			break;
		created[pdi / 32] |= 1u << (pdi % 32);
	}
	if (!err)
		return 0;
	while (pdi-- > first)
		if (created[pdi / 32] & (1u << (pdi % 32)))
			free_table(pd, pdi);
	return err;
}

static int check_range(struct pagedir *pd, uintptr_t physical, uintptr_t virtual,
		       size_t n_pages)
{
	uintptr_t last;

	if ((physical | virtual) & (PAGE_SIZE - 1))
		return MAP_EINVAL;
	if (n_pages > (RECURSIVE_BASE >> PAGE_SHIFT))
		return MAP_EINVAL;
	last = virtual + (n_pages - 1) * PAGE_SIZE;
	if (last < virtual || last >= RECURSIVE_BASE || virtual < PAGE_SIZE)
		return MAP_EINVAL;
	if (is_kernel(virtual) != is_kernel(last))
		return MAP_EINVAL;	/* straddles user and kernel space */
	if (!is_kernel(virtual) && !pd)
		return MAP_EINVAL;
	return 0;
}

//@ LAB 8 BEGIN
/* The pages of a map_mem call whose present PTE it changes: other CPUs may
 * hold them in their TLBs. n_pages is 0 when there are none. */
struct stale {
	uint32_t cr3;		/* tlb_shootdown's: 0 for kernel pages */
	uintptr_t first;
	size_t n_pages;
};

/* Which PTEs that map_mem(pd, physical, virtual, n_pages, flags) is about
 * to write replace a present entry by another value: unmapped, write or
 * user access taken away, another page. (Giving more access counts too: a
 * CPU with the old entry would take a spurious fault.) */
static struct stale stale_range(struct pagedir *pd, uintptr_t physical, uintptr_t virtual,
				size_t n_pages, int flags)
{
	struct stale s = { is_kernel(virtual) ? 0 : pd->phys, 0, 0 };
	uintptr_t last = 0;

	for (size_t i = 0; i < n_pages; i++) {
		uintptr_t va = virtual + i * PAGE_SIZE;
		uint32_t *table = table_of(pd, va), old, new;

		if (!table || !((old = table[PTE_INDEX(va)]) & PTE_PRESENT))
			continue;
		new = (flags & PTE_PRESENT) ? (physical + i * PAGE_SIZE) | (flags & PTE_ALLOWED) : 0;
		if ((old & ~(PTE_ACCESSED | PTE_DIRTY)) == new)
			continue;
		if (!s.n_pages)
			s.first = va;
		last = va;
		s.n_pages = ((last - s.first) >> PAGE_SHIFT) + 1;
	}
	return s;
}

/*
 * Lazy kernel unmaps. A shootdown costs an IPI to every other CPU and a
 * wait for the slowest: with four vCPUs on two host cores, milliseconds.
 * Kernel pages are unmapped for good thousands of times a second (a thread
 * stack at every join, a kvfree'd block), so those shootdowns are batched:
 * unmap_lazy clears the PTEs and flushes this CPU's TLB at once (map_mem),
 * and holds the frames (and a stack's virtual range) back from the
 * allocators; when the batch is full, one shootdown to every CPU
 * ends every stale entry of the batch, and only then are its frames and
 * ranges freed. Meanwhile:
 *  - no frame of the batch is anyone else's: a CPU that still holds an
 *    old entry reaches memory only the freed block's owner could reach
 *    (a use after free, which faults on the freeing CPU, as on one CPU);
 *  - a range whose virtual pages were freed at once (kvfree vpfrees right
 *    after) may be handed out again: map_mem, before it maps a page of the
 *    batch again, ends the batch, so no CPU reaches the new mapping through
 *    an old entry.
 * With no other CPU online nothing is held back. Free-page counts end the
 * batch first (unmap_lazy_flush, from page_counts).
 */
#define LAZY_FRAMES	64	/* frames a batch holds back (256 KiB) */
#define LAZY_RANGES	16	/* unmapped ranges it remembers */

struct lazy_range {
	uintptr_t va;		/* unmapped: [va, va + n_pages) */
	size_t n_pages;
	uintptr_t vbase;	/* vpfree'd with the frames, when vpages */
	size_t vpages;
};

/* The batch; under pg_lock. */
static struct {
	int unmapping;		/* map_mem leaves the other CPUs to the batch */
	size_t n_frames, n_ranges;
	uintptr_t frames[LAZY_FRAMES];
	struct lazy_range ranges[LAZY_RANGES];
	uint32_t deferred, purges;	/* unmaps batched; batches ended */
} lazy;

/* map_mem's last act (a cleanup handler: it runs as map_mem returns, after
 * its PTE writes): the other CPUs flush the stale pages, so that the caller
 * may free them. (This CPU's TLB is the loop's job: it invlpgs each page.)
 * unmap_lazy's unmaps are the batch's to flush. */
static void shootdown_on_return(struct stale *s)
{
	if (s->n_pages && !(s->cr3 == 0 && lazy.unmapping))
		tlb_shootdown_others(s->cr3, s->first, s->n_pages);
}

/* Ends the batch: every CPU flushes the batch's pages (all of its TLB when
 * they span more than TLB_FULL_PAGES), then they are freed. */
static void lazy_purge(void)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	if (!lazy.n_ranges)
		return;
	for (size_t i = 0; i < lazy.n_ranges; i++) {
		struct lazy_range *r = &lazy.ranges[i];

		lo = r->va < lo ? r->va : lo;
		hi = r->va + r->n_pages * PAGE_SIZE > hi ? r->va + r->n_pages * PAGE_SIZE : hi;
	}
	/* This CPU too: the unmaps flushed the CPUs that made them, and this
	 * may be another. */
	tlb_shootdown(0, lo, (hi - lo) >> PAGE_SHIFT);
	for (size_t i = 0; i < lazy.n_frames; i++)
		ppfree(lazy.frames[i], 1);
	for (size_t i = 0; i < lazy.n_ranges; i++)
		if (lazy.ranges[i].vpages)
			vpfree(NULL, lazy.ranges[i].vbase, lazy.ranges[i].vpages);
	lazy.n_frames = lazy.n_ranges = 0;
	lazy.purges++;
}

/* map_mem is about to map kernel pages [va, va + n_pages): if one of them
 * is in the batch (its range was vpfree'd at once), another CPU may still
 * hold its old entry, so the batch ends first. */
static void lazy_reuse(uintptr_t va, size_t n_pages)
{
	uintptr_t end = va + n_pages * PAGE_SIZE;

	for (size_t i = 0; i < lazy.n_ranges; i++) {
		struct lazy_range *r = &lazy.ranges[i];

		if (va < r->va + r->n_pages * PAGE_SIZE && r->va < end) {
			lazy_purge();
			return;
		}
	}
}

static int others_online(void)
{
	int me = cpu_id();

	for (int i = 0; i < ncpu; i++)
		if (i != me && cpus[i].online)
			return 1;
	return 0;
}

int unmap_lazy(uintptr_t va, size_t n_pages, uintptr_t vbase, size_t vpages)
{
	uint32_t flags;
	LOCK_SCOPE(&pg_lock);

	if (n_pages == 0 || n_pages > LAZY_FRAMES || !others_online())
		return 0;
	if (lazy.n_frames + n_pages > LAZY_FRAMES || lazy.n_ranges == LAZY_RANGES)
		lazy_purge();
	for (size_t i = 0; i < n_pages; i++)
		if (!is_kernel(va) ||
		    vm_translate(NULL, va + i * PAGE_SIZE, &lazy.frames[lazy.n_frames + i], &flags) < 0)
			panic("unmap_lazy(0x%08x, %u): page 0x%08x is not mapped", va, n_pages,
			      va + i * PAGE_SIZE);
	lazy.unmapping = 1;
	map_mem(NULL, 0, va, n_pages, 0);	/* this CPU's TLB: lab 4's loop */
	lazy.unmapping = 0;
	lazy.n_frames += n_pages;
	lazy.ranges[lazy.n_ranges++] = (struct lazy_range){ va, n_pages, vbase, vpages };
	lazy.deferred++;
	return 1;
}

void unmap_lazy_flush(void)
{
	LOCK_SCOPE(&pg_lock);

	lazy_purge();
}

void unmap_lazy_stats(uint32_t *deferred, uint32_t *purges)
{
	*deferred = lazy.deferred;
	*purges = lazy.purges;
}

int map_device(uintptr_t physical, uintptr_t virtual, size_t n_pages)
{
	int err;
	LOCK_SCOPE(&pg_lock);

	if (!is_kernel(virtual))
		return MAP_EINVAL;
	err = map_mem(NULL, physical, virtual, n_pages, PTE_PRESENT | PTE_WRITABLE);
	if (err < 0)
		return err;
	for (size_t i = 0; i < n_pages; i++) {
		uintptr_t va = virtual + i * PAGE_SIZE;

		table_of(NULL, va)[PTE_INDEX(va)] |= PTE_PCD | PTE_PWT;
	}
	/* A CPU may have cached the cacheable entry (speculatively: nothing
	 * used the page yet): every CPU drops it. */
	tlb_shootdown(0, virtual, n_pages);
	return 0;
}
//@ LAB 8 END

int map_mem(struct pagedir *pd, uintptr_t physical, uintptr_t virtual,
	    size_t n_pages, int flags)
{
	int err;
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&pg_lock);
	//@ LAB 7 END

	if (n_pages == 0)
		return 0;
	if ((err = check_range(pd, physical, virtual, n_pages)) < 0)
		return err;
	if (flags & PTE_PRESENT) {
		err = ensure_tables(pd, PDE_INDEX(virtual),
				    PDE_INDEX(virtual + (n_pages - 1) * PAGE_SIZE));
		if (err)
			return err;
	}
	//@ LAB 8 BEGIN
	if (is_kernel(virtual) && (flags & PTE_PRESENT) && lazy.n_ranges)
		lazy_reuse(virtual, n_pages);	/* no old entry of these pages anywhere */
	struct stale stale __attribute__((cleanup(shootdown_on_return))) =
		stale_range(pd, physical, virtual, n_pages, flags);
	//@ LAB 8 END

	//@ LAB 4 BEGIN
	for (size_t i = 0; i < n_pages; i++) {
		uintptr_t va = virtual + i * PAGE_SIZE;
		uint32_t *table = table_of(pd, va);
		if (!table)
			continue;	/* unmapping what was never mapped */
		if (flags & PTE_PRESENT)
			table[PTE_INDEX(va)] = (physical + i * PAGE_SIZE) | (flags & PTE_ALLOWED);
		else
			table[PTE_INDEX(va)] = 0;
		if (is_kernel(va) || pd == active_pd())
			invlpg(va);
	}
	return 0;
	//@ LAB 4 STUB
	//@ /* LAB 4 exercise 3: write (or clear) the PTEs, flush the TLB (handouts/lab4-paging.md). */
	//@ return MAP_EINVAL;
	//@ LAB 4 END
}

void paging_init(void)
{
	init_pd.phys = V2P(boot_pgdir);
	init_pd.virt = boot_pgdir;
	init_pd.next = init_pd.prev = &init_pd;
	for (unsigned i = 0; i < KERNEL_PDES; i++)
		if (boot_pgdir[USER_PDES + i] & PTE_PRESENT)
			kvpd[i].table = window(USER_PDES + i);
	kvpd[KERNEL_PDES].table = window(RECURSIVE_SLOT);
	active = &init_pd;
	//@ LAB 8 BEGIN
	cpus[0].pagedir = &init_pd;	/* the boot CPU's; an AP sets its own (smp.c) */
	//@ LAB 8 END

	//@ LAB 4 BEGIN
	/* The 1:1 map was only needed for the jump to the higher half. */
	for (unsigned i = 0; i < USER_PDES; i++)
		boot_pgdir[i] = 0;
	write_cr3(init_pd.phys);
	//@ LAB 4 STUB
	//@ /* LAB 4 exercise 4: remove the boot 1:1 mapping (handouts/lab4-paging.md). */
	//@ LAB 4 END
	printk("[paging] init directory at 0x%08x, %u kernel page tables, low memory unmapped\n",
	       init_pd.phys, kernel_page_tables());
}

void pagedir_setup(struct pagedir *pd, uintptr_t phys, uint32_t *virt)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&pg_lock);	/* the kernel half copied and the list joined at once */
	//@ LAB 7 END
	memset(virt, 0, USER_PDES * sizeof(uint32_t));
	memcpy(virt + USER_PDES, init_pd.virt + USER_PDES, KERNEL_PDES * sizeof(uint32_t));
	virt[RECURSIVE_SLOT] = phys | PDE_KERNEL;
	memset(pd->vpdes, 0, sizeof(pd->vpdes));
	pd->phys = phys;
	pd->virt = virt;
	pd->next = init_pd.next;
	pd->prev = &init_pd;
	init_pd.next->prev = pd;
	init_pd.next = pd;
}

void pagedir_teardown(struct pagedir *pd)
{
	//@ LAB 7 BEGIN
	LOCK_SCOPE(&pg_lock);
	//@ LAB 7 END
	if (pd == active_pd() || pd == &init_pd)
		panic("pagedir_teardown(%p): directory in use", pd);
	pd->prev->next = pd->next;
	pd->next->prev = pd->prev;
	for (unsigned pdi = 0; pdi < USER_PDES; pdi++)
		if (pd->vpdes[pdi].table)
			free_user_table(pd, pdi);
}

void pagedir_switch(struct pagedir *pd)
{
	//@ LAB 8 BEGIN
	irq_push();	/* the CPU's record and its CR3 change together */
	mycpu()->pagedir = pd;
	mycpu()->cr3 = pd->phys;
	//@ LAB 8 END

	active = pd;
	write_cr3(pd->phys);

	//@ LAB 8 BEGIN
	irq_pop();
	//@ LAB 8 END
}

size_t kernel_page_tables(void)
{
	size_t n = 0;

	for (unsigned i = 0; i < KERNEL_PDES; i++)
		n += kvpd[i].table != NULL;
	return n;
}

static void print_mapping(uintptr_t start, uintptr_t end, uintptr_t pa, uint32_t flags)
{
	printk("  0x%08x-0x%08x -> 0x%08x %c%c%c\n", start, end - 1, pa,
	       'r', (flags & PTE_WRITABLE) ? 'w' : '-', (flags & PTE_USER) ? 'u' : '-');
}

/* Prints the mapped runs of the pages [start, end) in the active directory
 * (start page-aligned; end up to 2^32, so the loop counts in 64 bits and
 * cannot wrap at 0xfffff000): pages with consecutive physical addresses and
 * the same flags are one run. */
static void dump_mappings(uint64_t start, uint64_t end)
{
	uintptr_t run = 0, run_pa = 0, pa;
	uint32_t run_flags = 0, flags;
	int in_run = 0;

	for (uint64_t page = start; page < end; page += PAGE_SIZE) {
		uintptr_t va = (uintptr_t)page;
		int mapped = vm_translate(NULL, va, &pa, &flags) == 0;
		int extends;

		flags &= PTE_ALLOWED;	/* not A, D */
		extends = in_run && mapped && flags == run_flags && pa == run_pa + (va - run);
		if (in_run && !extends) {
			print_mapping(run, va, run_pa, run_flags);
			in_run = 0;
		}
		if (mapped && !in_run) {
			run = va, run_pa = pa, run_flags = flags;
			in_run = 1;
		}
	}
	if (in_run)
		print_mapping(run, (uintptr_t)end, run_pa, run_flags);
}

/* maps [start end]: the pages holding start .. end - 1 (end is rounded up
 * to a page; 0xffffffff takes in the last page). */
MONITOR_COMMAND(maps, "maps [start end]: the mapped ranges of the active directory")
{
	uint32_t start = 0, end = RECURSIVE_BASE;

	if (argc != 1 && argc != 3) {
		printk("usage: maps [start end]\n");
		return 0;
	}
	if (argc == 3 && (monitor_number("maps", argv[1], &start) < 0 ||
			  monitor_number("maps", argv[2], &end) < 0))
		return 0;
	if (start > end) {
		printk("maps: start 0x%08x is above end 0x%08x\n", start, end);
		return 0;
	}
	dump_mappings(start & ~(PAGE_SIZE - 1),
		      ((uint64_t)end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1));
	return 0;
}

MONITOR_COMMAND(translate, "translate va: walk the page tables for va")
{
	uint32_t va, flags;
	uintptr_t pa;

	if (argc != 2) {
		printk("usage: translate va\n");
		return 0;
	}
	if (monitor_number("translate", argv[1], &va) < 0)
		return 0;
	if (vm_translate(NULL, va, &pa, &flags) < 0)
		printk("0x%08x: not mapped\n", va);
	else
		printk("0x%08x -> 0x%08x flags 0x%03x\n", va, pa, flags);
	return 0;
}
