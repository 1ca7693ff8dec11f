//@ LAB 2 FILE
/*
 * ppalloc.c applies the buddy allocator (buddy.c) to physical pages.
 *
 * One buddy over pages [0, highest available page). Every
 * page the machine cannot give away is reserved in it once, at boot, so the
 * buddy never hands it out:
 *
 *   0        page 0 (real-mode IVT, and a NULL physical address)
 *   0x8000   the SMP trampoline page (lab 8)
 *   holes    whatever the multiboot map does not call available
 *   1 MiB    the kernel image, then the boot data: this allocator's metadata
 *            (and the kernel vpallocator's, lab 3), placed by boot_alloc
 *   ...      the multiboot structures and modules
 *
 * Boot data is reached through the boot mapping of the first
 * KERNEL_BOOT_MAPPED bytes at KERNBASE, so it must end below that.
 */
//@ LAB 7 BEGIN
#include "kernel/lock.h"
//@ LAB 7 END

//@ LAB 8 BEGIN
#include "kernel/cpu.h"
//@ LAB 8 END
#include "kernel/layout.h"
#include "kernel/monitor.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "mm/buddy.h"
//@ LAB 7 BEGIN
#include "mm/mmlock.h"
//@ LAB 7 END
#include "mm/ppalloc.h"

#define MAX_RESERVED	(MEMMAP_MAX + MODULES_MAX + 16)
#define FOUR_GIB	0x100000000ull

struct range {
	uint64_t start, end;	/* bytes, [start, end) */
};

static struct buddy *phys;
static size_t phys_pages;
static size_t phys_reserved;
static uintptr_t boot_next;	/* physical address of the next boot data byte */
static int boot_open;		/* boot_alloc may hand out boot data */

extern char kernel_end[];
//@ LAB 7 BEGIN

/* The physical buddy (phys): every call into it after boot. Innermost of
 * the memory layers (mmlock.h); takes no other lock. */
static struct lock pp_lock = LOCK_INIT("ppalloc", MM_RANK_PPALLOC);
//@ LAB 7 END

//@ LAB 8 BEGIN
/*
 * Per-CPU caches of single pages (lab 8): ppalloc(1, 1) pops a page from
 * this CPU's magazine and ppfree(p, 1) pushes one, with interrupts off and
 * no lock; pp_lock is taken once per PP_BATCH pages, to refill an empty
 * magazine from the buddy or to flush a full one into it. A cached page is
 * allocated as far as the buddy knows; its bit in pp_cached says it is in
 * a magazine, so a double free into the cache is still a double free, and
 * ppstats counts it free. When the buddy cannot serve a request, this
 * CPU's magazine is flushed and the other CPUs are asked to flush theirs.
 */
#define PP_MAG_MAX	32
#define PP_BATCH	16

struct ppcache {
	uint32_t n;
	uint32_t page[PP_MAG_MAX];	/* page numbers; the top is page[n - 1] */
	volatile int flush_req;
};

static struct ppcache ppcaches[NCPU];
static uint32_t *pp_cached;		/* a bit per page: in a magazine */
static volatile uint32_t pp_ncached;	/* pages in all magazines */
static volatile int ppcache_on = 1;

/* Marks page u cached; returns its bit's old value. */
static int cached_set(uint32_t u)
{
	uint32_t bit = (uint32_t)1 << (u % 32);

	return (__atomic_fetch_or(&pp_cached[u / 32], bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

static void cached_clear(uint32_t u)
{
	__atomic_fetch_and(&pp_cached[u / 32], ~((uint32_t)1 << (u % 32)), __ATOMIC_SEQ_CST);
}

/* Gives the oldest `count` pages of c back to the buddy (pp_lock held). */
static void ppcache_drain(struct ppcache *c, uint32_t count)
{
	uint32_t i;

	if (count > c->n)
		count = c->n;
	for (i = 0; i < count; i++) {
		cached_clear(c->page[i]);
		buddy_free(phys, c->page[i], 1);
	}
	for (i = count; i < c->n; i++)
		c->page[i - count] = c->page[i];
	c->n -= count;
	__atomic_fetch_sub(&pp_ncached, count, __ATOMIC_SEQ_CST);
	c->flush_req = 0;
}

/* A flush asked of this CPU (memory pressure, ppcache_flush_all), or the
 * caches turned off: this CPU's magazine goes back to the buddy (pp_lock
 * held), and nothing is cached until the request is served. Checked with
 * interrupts off, in the same stretch as the push or pop it precedes, so a
 * flush asked meanwhile is served after it (at the next tick at the
 * latest), and ppcache_flush_all leaves nothing behind. */
static int flush_asked(struct ppcache *c)
{
	return c->flush_req || !ppcache_on;
}

/* A page for ppalloc(1, 1) from this CPU's magazine, refilled from the
 * buddy if empty; 0 and *u unchanged if there is none, or if a flush was
 * asked (the caller then asks the buddy itself). */
static int ppcache_get(uint32_t *u)
{
	struct ppcache *c;
	size_t unit;
	int got = 0;

	irq_push();
	c = &ppcaches[mycpu()->id];
	if (flush_asked(c)) {
		lock_acquire(&pp_lock);
		ppcache_drain(c, c->n);
		lock_release(&pp_lock);
		irq_pop();
		return 0;
	}
	if (c->n == 0) {
		lock_acquire(&pp_lock);
		while (c->n < PP_BATCH && buddy_alloc(phys, 1, 1, &unit) == 1) {
			c->page[c->n++] = (uint32_t)unit;
			cached_set((uint32_t)unit);
			__atomic_fetch_add(&pp_ncached, 1, __ATOMIC_SEQ_CST);
		}
		/* the lowest page on top: first handed out, as the buddy would */
		for (uint32_t i = 0; i < c->n / 2; i++) {
			uint32_t t = c->page[i];
			c->page[i] = c->page[c->n - 1 - i];
			c->page[c->n - 1 - i] = t;
		}
		lock_release(&pp_lock);
	}
	if (c->n > 0) {
		*u = c->page[--c->n];
		cached_clear(*u);
		__atomic_fetch_sub(&pp_ncached, 1, __ATOMIC_SEQ_CST);
		got = 1;
	}
	irq_pop();
	return got;
}

/* ppfree(page u, 1) into this CPU's magazine, or straight to the buddy if
 * a flush was asked; u passed buddy_check. */
static void ppcache_put(uint32_t u)
{
	struct ppcache *c;
	int err = 0;

	if (cached_set(u))
		panic("ppfree(0x%08x, 1): %s", u << PAGE_SHIFT, buddy_strerror(BUDDY_EDOUBLE));
	irq_push();
	c = &ppcaches[mycpu()->id];
	if (flush_asked(c)) {
		lock_acquire(&pp_lock);
		ppcache_drain(c, c->n);
		cached_clear(u);
		err = buddy_free(phys, u, 1);
		lock_release(&pp_lock);
		irq_pop();
		if (err)
			panic("ppfree(0x%08x, 1): %s", u << PAGE_SHIFT, buddy_strerror(err));
		return;
	}
	if (c->n == PP_MAG_MAX) {
		lock_acquire(&pp_lock);
		ppcache_drain(c, PP_BATCH);
		lock_release(&pp_lock);
	}
	c->page[c->n++] = u;
	__atomic_fetch_add(&pp_ncached, 1, __ATOMIC_SEQ_CST);
	irq_pop();
}

/* Memory pressure (pp_lock held): this CPU's pages back, the others asked. */
static void ppcache_pressure(void)
{
	struct ppcache *mine = &ppcaches[mycpu()->id];

	ppcache_drain(mine, mine->n);
	for (int i = 0; i < NCPU; i++)
		if (&ppcaches[i] != mine && ppcaches[i].n > 0)
			ppcaches[i].flush_req = 1;
}

size_t ppcache_pages(void)
{
	return pp_ncached;
}

void ppcache_serve(void)
{
	struct ppcache *c;

	irq_push();
	c = &ppcaches[mycpu()->id];
	if (c->flush_req) {
		lock_acquire(&pp_lock);
		ppcache_drain(c, c->n);
		lock_release(&pp_lock);
	}
	irq_pop();
}

/* A flush asked of cpus[cpu] and not yet served (cpu_wait_each). */
static int flush_pending(void *arg, int cpu)
{
	(void)arg;
	return ppcaches[cpu].flush_req;
}

int ppcache_flush_all(void)
{
	lock_acquire(&pp_lock);
	for (int i = 0; i < ncpu; i++)
		if (cpus[i].online)
			ppcaches[i].flush_req = 1;
	ppcache_drain(&ppcaches[mycpu()->id], PP_MAG_MAX);	/* this CPU's, now */
	lock_release(&pp_lock);
	return cpu_wait_each(flush_pending, NULL, CACHE_FLUSH_TICKS);
}

void ppcache_enable(int on)
{
	ppcache_on = on;
	if (!on)
		ppcache_flush_all();	/* each CPU its own magazine (flush_asked) */
}
//@ LAB 8 END

/* Boot data: page-aligned memory after the kernel image, before any
 * allocator can hand out pages; reserved by ppalloc_boot_done. */
void *boot_alloc(size_t bytes)
{
	uintptr_t p = boot_next;

	if (!boot_open)
		panic("boot_alloc(%u) outside ppalloc_init .. ppalloc_boot_done", bytes);
	boot_next += PAGE_ROUNDUP(bytes);
	if (boot_next > KERNEL_BOOT_MAPPED)
		panic("boot data needs %u KiB past the %u KiB the boot page tables map",
		      (boot_next - KERNEL_BOOT_MAPPED) >> 10, KERNEL_BOOT_MAPPED >> 10);
	return P2V(p);
}

/* The highest available byte below 4 GiB; memory above is ignored. */
static uint64_t memory_top(void)
{
	uint64_t top = 0, above = 0;

	for (int i = 0; i < bootinfo.n_regions; i++) {
		const struct memregion *r = &bootinfo.regions[i];
		if (r->type != MEM_AVAILABLE)
			continue;
		if (r->end > FOUR_GIB)
			above += r->end - (r->start > FOUR_GIB ? r->start : FOUR_GIB);
		if (r->start < FOUR_GIB) {
			uint64_t end = r->end < FOUR_GIB ? r->end : FOUR_GIB;
			if (end > top)
				top = end;
		}
	}
	if (above)
		printk("[ppalloc] ignoring %u MiB of memory above 4 GiB\n",
		       (uint32_t)(above >> 20));
	return PAGE_ROUNDDOWN(top);
}

static void sort_ranges(struct range *r, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && r[j].start < r[j - 1].start; j--) {
			struct range t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
}

/* Adds to out the parts of [0, top) that no available region covers. */
static int add_holes(struct range *out, int n, uint64_t top)
{
	struct range avail[MEMMAP_MAX];
	int na = 0;
	uint64_t covered = 0;

	for (int i = 0; i < bootinfo.n_regions; i++)
		if (bootinfo.regions[i].type == MEM_AVAILABLE)
			avail[na++] = (struct range){ bootinfo.regions[i].start,
						      bootinfo.regions[i].end };
	sort_ranges(avail, na);
	for (int i = 0; i < na && covered < top; i++) {
		if (avail[i].start > covered)
			out[n++] = (struct range){ covered, avail[i].start };
		if (avail[i].end > covered)
			covered = avail[i].end;
	}
	if (covered < top)
		out[n++] = (struct range){ covered, top };
	return n;
}

/* Sorts and merges the ranges, rounded out to whole pages, clipped to top,
 * and reserves each once in the buddy. */
static void reserve_ranges(struct range *r, int n, uint64_t top)
{
	for (int i = 0; i < n; i++) {
		r[i].start = PAGE_ROUNDDOWN(r[i].start);
		r[i].end = PAGE_ROUNDUP(r[i].end);
		if (r[i].end > top)
			r[i].end = top;
	}
	sort_ranges(r, n);
	for (int i = 0; i < n;) {
		struct range m = r[i++];
		while (i < n && r[i].start <= m.end) {
			if (r[i].end > m.end)
				m.end = r[i].end;
			i++;
		}
		if (m.start >= m.end)
			continue;
		size_t pages = (m.end - m.start) >> PAGE_SHIFT;
		int err = buddy_reserve(phys, m.start >> PAGE_SHIFT, pages);
		if (err)
			panic("ppalloc: reserving 0x%08x-0x%08x: %s", (uint32_t)m.start,
			      (uint32_t)m.end - 1, buddy_strerror(err));
		phys_reserved += pages;
	}
}

/* next, moved past the end (page-rounded) of each of the n regions, in
 * order, that ends above it and starts inside the boot mapping. */
static uintptr_t skip_past(const struct memregion *r, int n, uintptr_t next)
{
	for (int i = 0; i < n; i++)
		if (r[i].end > next && r[i].start < KERNEL_BOOT_MAPPED)
			next = PAGE_ROUNDUP(r[i].end);
	return next;
}

void ppalloc_init(void)
{
	uint64_t top = memory_top();

	/* Boot data goes after the kernel, and after the modules and
	 * multiboot structures the boot mapping reaches. */
	boot_next = V2P(kernel_end);
	boot_next = skip_past(bootinfo.modules, bootinfo.n_modules, boot_next);
	boot_next = skip_past(bootinfo.structures, bootinfo.n_structures, boot_next);
	if (top <= boot_next)
		panic("ppalloc: no memory above the kernel (top 0x%08x)", (uint32_t)top);

	boot_open = 1;
	phys_pages = top >> PAGE_SHIFT;
	phys = buddy_init(boot_alloc(buddy_meta_size(phys_pages)), phys_pages);
	//@ LAB 8 BEGIN
	pp_cached = boot_alloc((phys_pages + 31) / 32 * 4);
	for (size_t i = 0; i < (phys_pages + 31) / 32; i++)
		pp_cached[i] = 0;
	//@ LAB 8 END
}

void ppalloc_boot_done(void)
{
	struct range res[MAX_RESERVED];
	int n = 0;
	uint64_t top = (uint64_t)phys_pages << PAGE_SHIFT;

	boot_open = 0;
	res[n++] = (struct range){ 0, PAGE_SIZE };
	res[n++] = (struct range){ TRAMPOLINE_PHYS, TRAMPOLINE_PHYS + PAGE_SIZE };
	res[n++] = (struct range){ KERNEL_PHYS, boot_next };
	for (int i = 0; i < bootinfo.n_structures; i++)
		res[n++] = (struct range){ bootinfo.structures[i].start, bootinfo.structures[i].end };
	for (int i = 0; i < bootinfo.n_modules; i++)
		res[n++] = (struct range){ bootinfo.modules[i].start, bootinfo.modules[i].end };
	n = add_holes(res, n, top);
	reserve_ranges(res, n, top);
	ppalloc_print();
}

size_t ppalloc(size_t min_pages, size_t max_pages, uintptr_t *start_addr)
{
	size_t unit, n;

	if (min_pages == 0 || min_pages > max_pages)
		return 0;

	//@ LAB 8 BEGIN
	uint32_t u;

	if (max_pages == 1 && ppcache_on && ppcache_get(&u)) {
		*start_addr = (uintptr_t)u << PAGE_SHIFT;
		return 1;
	}
	//@ LAB 8 END

	//@ LAB 7 BEGIN
	lock_acquire(&pp_lock);
	//@ LAB 7 END
	n = buddy_alloc(phys, min_pages, max_pages, &unit);

	//@ LAB 8 BEGIN
	if (n == 0 && pp_ncached > 0) {		/* memory pressure */
		ppcache_pressure();
		n = buddy_alloc(phys, min_pages, max_pages, &unit);
	}
	//@ LAB 8 END

	//@ LAB 7 BEGIN
	lock_release(&pp_lock);
	//@ LAB 7 END
	if (n)
		*start_addr = (uintptr_t)unit << PAGE_SHIFT;
	return n;
}

void ppfree(uintptr_t start_addr, size_t n_pages)
{
	int err = BUDDY_ENOTSTART;

	//@ LAB 8 BEGIN
	/* Checked without the lock: only this allocation's own bits are read
	 * when it is right (buddy_check); a wrong one is checked again below. */
	if (n_pages == 1 && ppcache_on && (start_addr & (PAGE_SIZE - 1)) == 0 &&
	    (start_addr >> PAGE_SHIFT) < phys_pages &&
	    buddy_check(phys, start_addr >> PAGE_SHIFT, 1) == BUDDY_OK) {
		ppcache_put(start_addr >> PAGE_SHIFT);
		return;
	}
	if (n_pages == 1 && (start_addr & (PAGE_SIZE - 1)) == 0 &&
	    (start_addr >> PAGE_SHIFT) < phys_pages && pp_cached[(start_addr >> PAGE_SHIFT) / 32] &
	    ((uint32_t)1 << ((start_addr >> PAGE_SHIFT) % 32)))
		panic("ppfree(0x%08x, %u): %s", start_addr, n_pages, buddy_strerror(BUDDY_EDOUBLE));
	//@ LAB 8 END

	//@ LAB 7 BEGIN
	lock_acquire(&pp_lock);
	//@ LAB 7 END
	if ((start_addr & (PAGE_SIZE - 1)) == 0)
		err = buddy_free(phys, start_addr >> PAGE_SHIFT, n_pages);
	//@ LAB 7 BEGIN
	lock_release(&pp_lock);
	//@ LAB 7 END
	if (err)
		panic("ppfree(0x%08x, %u): %s", start_addr, n_pages, buddy_strerror(err));
}

void ppstats(struct ppstats *st)
{
	//@ LAB 7 BEGIN
	lock_acquire(&pp_lock);
	//@ LAB 7 END
	st->managed = phys_pages;
	st->free = buddy_free_units(phys);
	//@ LAB 8 BEGIN
	st->free += pp_ncached;		/* cached pages are free ones */
	//@ LAB 8 END
	st->reserved = phys_reserved;
	//@ LAB 7 BEGIN
	lock_release(&pp_lock);
	//@ LAB 7 END
}
//@ LAB 7 BEGIN

void ppalloc_for_each_free(void (*fn)(void *arg, unsigned order, size_t start), void *arg)
{
	lock_acquire(&pp_lock);
	buddy_for_each_free(phys, fn, arg);
	lock_release(&pp_lock);
}
//@ LAB 7 END

const struct buddy *ppalloc_buddy(void)
{
	return phys;
}

void ppalloc_print(void)
{
	struct ppstats st;

	ppstats(&st);
	printk("[ppalloc] %u pages managed (%u KiB), %u free, %u reserved\n",
	       st.managed, st.managed * (PAGE_SIZE / 1024), st.free, st.reserved);
	printk("[ppalloc] free blocks per order:");
	for (unsigned o = 0; o < buddy_orders(phys); o++)
		printk(" %u", buddy_free_blocks(phys, o));
	printk("\n");
}

MONITOR_COMMAND(ppalloc, "the physical allocator: pages managed, free, free blocks per order")
{
	(void)argc, (void)argv;
	ppalloc_print();
	return 0;
}
