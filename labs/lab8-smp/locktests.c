/*
 * Lab 8 in-kernel tests, part 2: the spinlock (lock.c) and the locks of
 * every shared allocator.
 *
 * The workers are ordinary threads: on one CPU (lab 7's kernel) they take
 * turns under preemption, on several they run at once. Each test gathers
 * what happened in counters and prints a summary after the joins, so a
 * trace never depends on how the CPUs interleaved. The panic tests end the
 * run: lock.c's panics name the lock (and, for the order, both locks).
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "lib/string.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

#define WORKERS		8

static int this_cpu(void)
{
	int id;

	irq_push();
	id = mycpu()->id;
	irq_pop();
	return id;
}

/* Starts n workers fn(i) and joins them; returns the sum of their exit
 * values (0 each when all went well). */
static int run_workers(const char *name, int n, int (*fn)(void *))
{
	struct thread *t[WORKERS];
	int sum = 0, v;

	for (int i = 0; i < n; i++)
		KEXPECT((t[i] = thread_create(name, fn, (void *)(uintptr_t)i)));
	for (int i = 0; i < n; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		sum += v;
	}
	return sum;
}

/* The CPUs that ran a worker, as a bit mask (updated with lock or). */
static volatile uint32_t cpus_seen;

static void saw_cpu(void)
{
	__atomic_fetch_or(&cpus_seen, 1u << (this_cpu() & 31), __ATOMIC_RELAXED);
}

static int popcount(uint32_t m)
{
	int n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

/* ---- a counter under one lock ----------------------------------------- */

#define INCREMENTS	20000

/* The counter: rank 5, a test's own lock (lock.h), taken alone. */
static struct lock counter_lock = LOCK_INIT("counter", 5);
static volatile uint32_t counter;

/*
 * A read, a pause, then the write: without mutual exclusion two CPUs read
 * the same value and one increment is lost. The pause makes the window
 * wide enough to lose some in every run with four CPUs.
 */
static int incrementer(void *arg)
{
	(void)arg;
	saw_cpu();
	for (int i = 0; i < INCREMENTS; i++) {
		lock_acquire(&counter_lock);
		uint32_t v = counter;
		__asm__ volatile("pause; pause; pause; pause");
		counter = v + 1;
		lock_release(&counter_lock);
	}
	return 0;
}

KTEST(lock_counter)
{
	uint32_t acquires0 = counter_lock.acquires;

	counter = 0;
	cpus_seen = 0;
	KEXPECT_EQ(run_workers("incr", WORKERS, incrementer), 0);
	printk("lock_counter: %d threads each took the lock %d times; counter = %u\n",
	       WORKERS, INCREMENTS, counter);
	printk("lock_counter: threads ran on %d CPU(s), %u of %u acquisitions waited\n",
	       popcount(cpus_seen), counter_lock.spins, counter_lock.acquires - acquires0);
	KEXPECT_EQ(counter, WORKERS * INCREMENTS);
	KEXPECT_EQ(counter_lock.acquires - acquires0, WORKERS * INCREMENTS);
	KEXPECT(!lock_held(&counter_lock) && counter_lock.holder == NULL);
	KEXPECT_EQ(counter_lock.locked, 0);
	/* The monitor's `locks` list has it, and the allocators' locks. */
	int found = 0, pp = 0;
	for (struct lock *lk = lock_known(NULL); lk; lk = lock_known(lk)) {
		found += lk == &counter_lock;
		pp += strcmp(lk->name, "ppalloc") == 0;
	}
	KEXPECT_EQ(found, 1);
	KEXPECT_EQ(pp, 1);
	printk("lock_counter: the lock list (monitor locks) has counter and ppalloc once each\n");
}

/* ---- misuse panics, naming the lock ----------------------------------- */

static struct lock double_lock = LOCK_INIT("double-test", 5);

KTEST(lock_double)
{
	lock_acquire(&double_lock);
	printk("lock_double: holding double-test; taking it again\n");
	lock_acquire(&double_lock);
	printk("lock_double: the second acquire returned\n");
}

static struct lock foreign_lock = LOCK_INIT("foreign-test", 5);
static volatile int foreign_taken;

/* Takes foreign-test and keeps it: a thread that ends holding a lock
 * leaves it held by its CPU, never by the main thread's. */
static int holds_foreign(void *arg)
{
	(void)arg;
	lock_acquire(&foreign_lock);
	foreign_taken = 1;
	lock_release(&foreign_lock);
	return 0;
}

KTEST(lock_foreign)
{
	KEXPECT_EQ(run_workers("foreign", 1, holds_foreign), 0);
	KEXPECT(foreign_taken && !lock_held(&foreign_lock));
	printk("lock_foreign: foreign-test was taken and released by its holder\n");
	printk("lock_foreign: releasing it again, not holding it\n");
	lock_release(&foreign_lock);
	printk("lock_foreign: the release returned\n");
}

/* ---- the order check -------------------------------------------------- */

/* Rank 75: after every memory layer's lock (mm/mmlock.h). Holding it and
 * calling an allocator inverts the order. */
static struct lock late_lock = LOCK_INIT("order-test", 75);
/* Ranks 6 and 8: taken 6 then 8 is the order, 8 then 6 an inversion. */
static struct lock outer_lock = LOCK_INIT("order-outer", 6);
static struct lock inner_lock = LOCK_INIT("order-inner", 8);

KTEST(lock_order)
{
	uintptr_t pa;

	if (!STRATA_LOCK_DEBUG)
		ktest_fail("built without STRATA_LOCK_DEBUG: no order check");
	/* In order: outer, inner, then an allocator (ranks 6 < 8 < 70). */
	lock_acquire(&outer_lock);
	lock_acquire(&inner_lock);
	KEXPECT(lock_innermost() == &inner_lock);
	lock_release(&inner_lock);
	lock_release(&outer_lock);
	KEXPECT(lock_innermost() == NULL);
	/* Two pages: a single page may come from this CPU's page cache
	 * without ppalloc's lock. */
	lock_acquire(&outer_lock);
	KEXPECT(ppalloc(2, 2, &pa) == 2);
	ppfree(pa, 2);
	lock_release(&outer_lock);
	printk("lock_order: order-outer (6), order-inner (8), then ppalloc (70): in order\n");
	/* Out of order: ppalloc's lock (70) under order-test (75). */
	printk("lock_order: calling ppalloc holding order-test (rank 75)\n");
	lock_acquire(&late_lock);
	ppalloc(2, 2, &pa);
	lock_release(&late_lock);
	printk("lock_order: the inversion went unnoticed\n");
}

/* ---- every allocator from every CPU at once --------------------------- */

#define ROUNDS		30
#define HOLD		4	/* blocks of each kind a worker holds at once */
#define PHYS_MAX_PAGES	(1u << 20)	/* 4 GiB */
#define KVIRT_PAGES	((KVIRT_END - KVIRT_START) >> PAGE_SHIFT)

/*
 * Claims: one bit per physical page and per kernel virtual page, set with
 * an atomic or when an allocator hands the page out and cleared when it is
 * freed. A bit already set means the page was handed out twice.
 */
static uint32_t phys_claim[PHYS_MAX_PAGES / 32];
static uint32_t kvirt_claim[KVIRT_PAGES / 32 + 1];

/* The first problem any worker saw: rank 5, taken alone. */
static struct lock stress_lock = LOCK_INIT("stress", 5);
static char stress_error[160];
static uint32_t stress_blocks;

static void stress_fail(const char *fmt, uintptr_t a, uintptr_t b)
{
	lock_acquire(&stress_lock);
	if (!stress_error[0])
		snprintf(stress_error, sizeof(stress_error), fmt, a, b);
	lock_release(&stress_lock);
}

static void claim(uint32_t *map, size_t first, size_t n, const char *what, uintptr_t addr)
{
	for (size_t i = first; i < first + n; i++) {
		uint32_t bit = 1u << (i % 32);
		if (__atomic_fetch_or(&map[i / 32], bit, __ATOMIC_RELAXED) & bit)
			stress_fail(what, addr, i);
	}
}

static void unclaim(uint32_t *map, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++)
		__atomic_fetch_and(&map[i / 32], ~(1u << (i % 32)), __ATOMIC_RELAXED);
}

static void claim_phys(uintptr_t pa, size_t n)
{
	claim(phys_claim, pa >> PAGE_SHIFT, n, "physical page 0x%08x handed out twice (%u)", pa);
}

static void claim_kvirt(uintptr_t va, size_t n)
{
	claim(kvirt_claim, (va - KVIRT_START) >> PAGE_SHIFT, n,
	      "kernel virtual page 0x%08x handed out twice (%u)", va);
}

static void unclaim_phys(uintptr_t pa, size_t n) { unclaim(phys_claim, pa >> PAGE_SHIFT, n); }
static void unclaim_kvirt(uintptr_t va, size_t n)
{
	unclaim(kvirt_claim, (va - KVIRT_START) >> PAGE_SHIFT, n);
}

/* The owner tag of worker w, block k: every word of a block holds it. */
static uint32_t tag(int w, int k, int round)
{
	return 0x5a000000u | (uint32_t)w << 16 | (uint32_t)k << 8 | (uint32_t)(round & 0xff);
}

static void fill(void *p, size_t bytes, uint32_t t)
{
	for (uint32_t *q = p; (char *)q < (char *)p + bytes; q++)
		*q = t;
}

static int intact(const void *p, size_t bytes, uint32_t t)
{
	for (const uint32_t *q = p; (const char *)q < (const char *)p + bytes; q++)
		if (*q != t)
			return 0;
	return 1;
}

struct held {
	uintptr_t pp[HOLD]; size_t ppn[HOLD];	/* ppalloc */
	uintptr_t vp[HOLD]; size_t vpn[HOLD];	/* vpalloc (kernel ranges) */
	uintptr_t kv[HOLD]; size_t kvn[HOLD];	/* kvmalloc */
	void *m[HOLD]; size_t mn[HOLD];		/* malloc */
	uintptr_t mapva, mappa;			/* map_mem: one page mapped */
};

/* One round: take HOLD blocks of each kind, tag them, check the tags after
 * all are taken, free them. Returns 0, or 1 when out of memory. */
static int stress_round(struct held *h, int w, int r)
{
	int oom = 0;

	for (int k = 0; k < HOLD; k++) {
		size_t want = 1 + (size_t)((w + k + r) % 3);
		void *m;

		h->ppn[k] = ppalloc(want, want, &h->pp[k]);
		if (h->ppn[k])
			claim_phys(h->pp[k], h->ppn[k]);
		h->vpn[k] = vpalloc(NULL, want, want + 1, &h->vp[k]);
		if (h->vpn[k])
			claim_kvirt(h->vp[k], h->vpn[k]);
		h->kvn[k] = kvmalloc(want, want, &h->kv[k]);
		if (h->kvn[k]) {
			claim_kvirt(h->kv[k], h->kvn[k]);
			fill((void *)h->kv[k], h->kvn[k] * PAGE_SIZE, tag(w, k, r) ^ 0x00800000u);
		}
		h->mn[k] = 16 + (size_t)((w * 37 + k * 101 + r * 13) % 700);
		if ((m = h->m[k] = malloc(h->mn[k])))
			fill(m, h->mn[k] & ~3u, tag(w, k, r));
		oom |= !h->ppn[k] || !h->vpn[k] || !h->kvn[k] || !m;
	}
	/* map_mem: a fresh frame at a fresh kernel page, written through. */
	h->mapva = h->mappa = 0;
	if (vpalloc(NULL, 1, 1, &h->mapva) && ppalloc(1, 1, &h->mappa)) {
		claim_kvirt(h->mapva, 1);
		claim_phys(h->mappa, 1);
		if (map_mem(NULL, h->mappa, h->mapva, 1, PTE_PRESENT | PTE_WRITABLE) < 0)
			oom = 1;
		else
			fill((void *)h->mapva, PAGE_SIZE, tag(w, 9, r));
	} else {
		oom = 1;
	}
	thread_yield();	/* let the others allocate while we hold ours */
	for (int k = 0; k < HOLD; k++) {
		if (h->kvn[k] && !intact((void *)h->kv[k], h->kvn[k] * PAGE_SIZE,
					 tag(w, k, r) ^ 0x00800000u))
			stress_fail("kvmalloc block 0x%08x overwritten (worker %u)", h->kv[k], w);
		if (h->m[k] && !intact(h->m[k], h->mn[k] & ~3u, tag(w, k, r)))
			stress_fail("malloc block 0x%08x overwritten (worker %u)", (uintptr_t)h->m[k], w);
	}
	if (h->mapva && h->mappa) {
		uintptr_t pa;
		uint32_t flags;
		if (vm_translate(NULL, h->mapva, &pa, &flags) == 0) {
			if (pa != h->mappa || !intact((void *)h->mapva, PAGE_SIZE, tag(w, 9, r)))
				stress_fail("map_mem page 0x%08x not ours (worker %u)", h->mapva, w);
			map_mem(NULL, 0, h->mapva, 1, 0);
		}
	}
	if (h->mappa) {
		unclaim_phys(h->mappa, 1);
		ppfree(h->mappa, 1);
	}
	if (h->mapva) {
		unclaim_kvirt(h->mapva, 1);
		vpfree(NULL, h->mapva, 1);
	}
	for (int k = 0; k < HOLD; k++) {
		if (h->ppn[k]) {
			unclaim_phys(h->pp[k], h->ppn[k]);
			ppfree(h->pp[k], h->ppn[k]);
		}
		if (h->vpn[k]) {
			unclaim_kvirt(h->vp[k], h->vpn[k]);
			vpfree(NULL, h->vp[k], h->vpn[k]);
		}
		if (h->kvn[k]) {
			unclaim_kvirt(h->kv[k], h->kvn[k]);
			kvfree(h->kv[k], h->kvn[k]);
		}
		free(h->m[k]);
	}
	return oom;
}

static int stresser(void *arg)
{
	int w = (int)(uintptr_t)arg, oom = 0;
	struct held *h = malloc(sizeof(*h));

	if (!h)
		return 1;
	saw_cpu();
	for (int r = 0; r < ROUNDS; r++) {
		oom += stress_round(h, w, r);
		if (r % 16 == 0)
			saw_cpu();
	}
	free(h);
	__atomic_fetch_add(&stress_blocks, ROUNDS * (4 * HOLD + 1), __ATOMIC_RELAXED);
	return oom;
}

/* The buddy invariants seen from outside, in one locked walk: free blocks
 * by ascending start, each aligned to its order, none overlapping, and
 * their sizes sum to the free count. */
struct walk {
	size_t next, units;
	int bad;
};

static void walk_block(void *arg, unsigned order, size_t start)
{
	struct walk *wk = arg;

	if (start < wk->next || (start & ((1u << order) - 1)))
		wk->bad = 1;
	wk->next = start + ((size_t)1 << order);
	wk->units += (size_t)1 << order;
}

struct counts {
	size_t phys, kvirt;
};

/* The free counts with every cache flushed on every CPU: what the caches
 * hold is free, but only the buddies' own free blocks can be walked, and
 * an arena parked or kept alive by cached chunks holds pages that are
 * counted as used. */
static void counts(struct counts *c)
{
	struct ppstats st;

	KEXPECT_EQ(malloc_flush_all(), 0);	/* first: its arenas' pages go to kvfree */
	unmap_lazy_flush();	/* kvfree'd pages still held back are free (paging.h) */
	KEXPECT_EQ(ppcache_flush_all(), 0);	/* last: the two above free into it */
	KEXPECT_EQ(ppcache_pages(), 0);
	ppstats(&st);
	c->phys = st.free;
	c->kvirt = vpfree_count(NULL);
}

static void alloc_stress(void)
{
	struct counts before, after;
	struct walk pw = { 0, 0, 0 }, vw = { 0, 0, 0 };

	/* The first round may keep kernel page tables and heap arenas for
	 * good (both by design); the second is measured. */
	KEXPECT_EQ(run_workers("stress", WORKERS, stresser), 0);
	counts(&before);
	cpus_seen = 0;
	stress_blocks = 0;
	KEXPECT_EQ(run_workers("stress", WORKERS, stresser), 0);
	counts(&after);
	if (stress_error[0])
		ktest_fail("%s", stress_error);
	printk("alloc_stress: %d threads x %d rounds, %u blocks from ppalloc, vpalloc, kvmalloc, "
	       "malloc and map_mem: none handed out twice, every owner tag intact\n",
	       WORKERS, ROUNDS, stress_blocks);
	printk("alloc_stress: workers ran on %d CPU(s)\n", popcount(cpus_seen));
	printk("alloc_stress: free physical pages %u -> %u\n", before.phys, after.phys);
	printk("alloc_stress: free kernel virtual pages %u -> %u\n", before.kvirt, after.kvirt);
	KEXPECT_EQ(after.phys, before.phys);
	KEXPECT_EQ(after.kvirt, before.kvirt);
	ppalloc_for_each_free(walk_block, &pw);
	vpfor_each_free(NULL, walk_block, &vw);
	KEXPECT(!pw.bad && pw.units == after.phys);
	KEXPECT(!vw.bad && vw.units == after.kvirt);
	KEXPECT_EQ(malloc_check(), 0);
	printk("alloc_stress: ppalloc's and the kernel vpallocator's free blocks consistent; "
	       "malloc_check clean\n");
}

KTEST(alloc_stress)
{
	alloc_stress();
}

/* The same with the per-CPU caches off: the locked allocators alone. */
KTEST(alloc_stress_nocache)
{
	malloc_cache_enable(0);
	ppcache_enable(0);
	alloc_stress();
}

/* ---- whole lines on the console --------------------------------------- */

#define LINE_WORKERS	4
#define LINES		40

/*
 * Each worker prints LINES lines, each in six printk calls: the start, its
 * mark "<w>" four times, the end. printk keeps the console for a line's
 * owner until its "\n", so a line holds one worker's marks only; the
 * trace forbids a line with two workers' marks or a line that starts with
 * a mark (the rest of someone's line).
 */
static volatile int printers_ready;

static int line_printer(void *arg)
{
	int w = (int)(uintptr_t)arg;

	/* Start together, so that the other CPUs have picked some up. */
	__atomic_fetch_add(&printers_ready, 1, __ATOMIC_RELAXED);
	while (printers_ready < LINE_WORKERS)
		thread_yield();
	saw_cpu();
	for (int l = 0; l < LINES; l++) {
		printk("console_lines:");
		for (int p = 0; p < 4; p++) {
			for (int d = 0; d < 200; d++)	/* widen the gaps between pieces */
				__asm__ volatile("pause");
			printk(" <%d>", w);
		}
		printk(" line %d\n", l);
		saw_cpu();
		if (l % 8 == 0)
			thread_yield();
	}
	return 0;
}

KTEST(console_lines)
{
	cpus_seen = 0;
	printers_ready = 0;
	KEXPECT_EQ(run_workers("lines", LINE_WORKERS, line_printer), 0);
	printk("console_lines: %d threads printed %d lines each, in 6 pieces a line\n",
	       LINE_WORKERS, LINES);
	printk("console_lines: printers ran on %d CPU(s)\n", popcount(cpus_seen));
}
