/*
 * Lab 8 in-kernel tests: TLB shootdown (kernel/tlb.h), and the page
 * protection and attributes every CPU must see alike.
 *
 * Each test has a reader thread that reads (or writes) a page once, so its
 * CPU caches the translation, then spins with interrupts off, serving
 * shootdowns by tlb_poll as every such spin must, until the test has
 * changed the mapping from another CPU; then it accesses the page once
 * more. Spinning with interrupts off keeps it on its CPU and keeps that
 * CPU's TLB as it was (no switch, no interrupt). Its second access must
 * fault: a read or write that succeeds went through a stale TLB entry.
 * A fault catcher turns the reader's expected page fault into a result.
 *
 * The summaries are printed after the joins and name no CPU numbers, so a
 * trace does not depend on how the threads interleaved.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ioapic.h"
#include "kernel/ktest.h"
#include "kernel/lapic.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/pit.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "kernel/tlb.h"
#include "kernel/trap.h"
#include "kernel/uvm.h"
#include "kernel/x86.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

#define OLD_DATA	0x01d0da7aU	/* what the page held for the reader */
#define NEW_DATA	0x0e1ce15eU	/* what the frame's next owner writes */
#define WAIT_TICKS	500		/* 5 s: a reader or test waiting longer gives up */
#define SPIN_LIMIT	(1u << 26)	/* the reader's limit when the clock stands still */
#define REUSE_TRIES	1024		/* pages tried to get the freed frame back */
#define TEST_HEAP	0x10000000u	/* the heap of the user test's process */

/* ---- accesses that may fault -------------------------------------- */

/* 0 and *v = *p, or -1 if the read faulted; 0 after *p = v, or -1 if the
 * write faulted. The fault catcher resumes a faulting probe at its fixup. */
int tlbt_read(const volatile uint32_t *p, uint32_t *v);
int tlbt_write(volatile uint32_t *p, uint32_t v);
extern char tlbt_read_insn[], tlbt_write_insn[], tlbt_fixup[];

__asm__(".text\n"
	".globl tlbt_read\n"
	"tlbt_read:\n"
	"	movl 4(%esp), %edx\n"
	".globl tlbt_read_insn\n"
	"tlbt_read_insn:\n"
	"	movl (%edx), %eax\n"
	"	movl 8(%esp), %edx\n"
	"	movl %eax, (%edx)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	".globl tlbt_write\n"
	"tlbt_write:\n"
	"	movl 4(%esp), %edx\n"
	"	movl 8(%esp), %eax\n"
	".globl tlbt_write_insn\n"
	"tlbt_write_insn:\n"
	"	movl %eax, (%edx)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	".globl tlbt_fixup\n"
	"tlbt_fixup:\n"
	"	movl $-1, %eax\n"
	"	ret\n");

static volatile uint32_t fault_va, fault_err;

/* The page-fault handler while a test runs: a probe's fault is an
 * answer; any other fault is a bug, and panics as it would without it. */
static void catch_probe(struct trapframe *tf)
{
	if (tf->eip != (uint32_t)tlbt_read_insn && tf->eip != (uint32_t)tlbt_write_insn)
		panic_trap(tf, "unhandled page fault at va 0x%08x", read_cr2());
	fault_va = read_cr2();
	fault_err = tf->err;
	tf->eip = (uint32_t)tlbt_fixup;
}

static void need_cpus(int n)
{
	int online = 0;

	for (int i = 0; i < ncpu; i++)
		online += cpus[i].online != 0;
	if (online < n)
		ktest_fail("needs %d CPUs online, has %d of %d: %s", n, online, ncpu,
			   *smp_off_reason() ? smp_off_reason() : "the machine has fewer CPUs");
}

/* ---- the reader ----------------------------------------------------- */

struct reader {
	volatile uint32_t *va;	/* the page it accesses */
	int write;		/* write (1) or read (0) it */
	int writes;		/* writes done: the first writes NEW_DATA + 1, ... */
	volatile int warm;	/* set by the reader: its TLB holds va */
	volatile int go;	/* set by the test: the mapping has changed */
	int cpu;		/* where it ran (interrupts were off throughout) */
	int first_ok;		/* its first access worked */
	uint32_t first;		/* and read this */
	int second_faulted;	/* its access after the change faulted */
	uint32_t second;	/* or read this */
	uint32_t fault_va;
	uint32_t served;	/* shootdowns its CPU served while it waited */
	int timed_out;
};

static int access_once(struct reader *r, uint32_t *v)
{
	if (r->write)
		return tlbt_write(r->va, NEW_DATA + ++r->writes);
	return tlbt_read(r->va, v);
}

static int reader_main(void *arg)
{
	struct reader *r = arg;
	uint32_t served0, spins = 0, v = 0, deadline = pit_ticks() + WAIT_TICKS;

	irq_push();
	r->cpu = cpu_id();
	served0 = tlb_served(r->cpu);
	r->first_ok = access_once(r, &v) == 0;
	r->first = v;
	__atomic_store_n(&r->warm, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&r->go, __ATOMIC_SEQ_CST)) {
		tlb_poll();
		__asm__ volatile("pause");
		/* (The clock ticks on another CPU, unless this is the one.) */
		if (++spins == SPIN_LIMIT || (int32_t)(pit_ticks() - deadline) > 0) {
			r->timed_out = 1;
			break;
		}
	}
	v = 0;
	fault_va = 0;
	r->second_faulted = access_once(r, &v) < 0;
	r->second = v;
	r->fault_va = fault_va;
	r->served = tlb_served(r->cpu) - served0;
	irq_pop();
	return 0;
}

/* Starts a reader of va in the current process and waits until its TLB
 * holds va. It runs on another CPU: it holds its own with interrupts off
 * from its first access on, and this thread waits here on another. */
static struct thread *start_reader(struct reader *r)
{
	struct thread *t = thread_create("tlb-reader", reader_main, r);
	uint32_t deadline = pit_ticks() + WAIT_TICKS;

	if (!t)
		ktest_fail("thread_create: out of memory");
	while (!__atomic_load_n(&r->warm, __ATOMIC_SEQ_CST)) {
		if ((int32_t)(pit_ticks() - deadline) > 0)
			ktest_fail("the reader thread did not run within %d ticks", WAIT_TICKS);
		thread_yield();
	}
	return t;
}

/* Lets the reader take its second access and joins it. */
static void finish_reader(struct reader *r, struct thread *t)
{
	__atomic_store_n(&r->go, 1, __ATOMIC_SEQ_CST);
	if (thread_join(t, 0) < 0)
		ktest_fail("thread_join failed");
}

/* The reader's second access, in words: a fault, or what went through a
 * stale entry. 1 if it faulted at its page and its CPU flushed on request
 * (what every trace expects). */
static int report_second(const char *test, struct reader *r, uint32_t new_data)
{
	const char *op = r->write ? "write" : "read";

	if (r->timed_out)
		printk("%s: the reader gave up waiting\n", test);
	if (r->second_faulted)
		printk("%s: its next %s: page fault at the page (%s)\n", test, op,
		       r->fault_va == (uint32_t)r->va ? "its address" : "another address");
	else if (r->write)
		printk("%s: its next write: went through a stale entry\n", test);
	else
		printk("%s: its next read: 0x%08x through a stale entry%s\n", test, r->second,
		       r->second == new_data ? " (the frame's new owner's data)" : "");
	printk("%s: the reader's CPU flushed on request: %s\n", test,
	       r->served ? "yes" : "no");
	return !r->timed_out && r->second_faulted && r->fault_va == (uint32_t)r->va &&
	       r->served;
}

/* The kernel's verdict agrees with the trace's: a stale access fails. */
static void expect_flushed(int ok)
{
	if (!ok)
		ktest_fail("the reader's CPU went on using its stale TLB entry: the shootdown "
			   "did not reach it or did not wait for it (LAB 8 exercise 4, "
			   "handouts/lab8-smp.md)");
}

/* ---- a kernel page unmapped by one CPU while another reads it ------- */

/* A kvmalloc'd page holding OLD_DATA, which a reader thread on another CPU
 * reads (or writes, if write) with the fault probe catching its faults. */
static struct thread *kernel_page_reader(struct reader *r, int write, uintptr_t *va,
					 uintptr_t *pa)
{
	uint32_t flags;

	need_cpus(2);
	if (!kvmalloc(1, 1, va) || vm_translate(NULL, *va, pa, &flags) < 0)
		ktest_fail("kvmalloc: out of memory");
	*(volatile uint32_t *)*va = OLD_DATA;
	trap_set_handler(T_PGFLT, catch_probe);
	r->va = (volatile uint32_t *)*va;
	r->write = write;
	return start_reader(r);
}

/* Remaps the reader's page (map_mem returns once every CPU flushed), lets
 * the reader finish; the CPU that remapped it. */
static int remap_under_reader(struct reader *r, struct thread *t, uintptr_t pa,
			      uint32_t flags)
{
	int cpu;

	irq_push();
	cpu = cpu_id();
	map_mem(NULL, pa, (uintptr_t)r->va, 1, flags);
	irq_pop();
	finish_reader(r, t);
	trap_set_handler(T_PGFLT, 0);
	return cpu;
}

KTEST(tlb_unmap_remote)
{
	struct reader r = { 0 };
	struct thread *t;
	uintptr_t va, pa;
	int main_cpu, ok;

	t = kernel_page_reader(&r, 0, &va, &pa);
	main_cpu = remap_under_reader(&r, t, 0, 0);	/* unmap */
	printk("tlb_unmap_remote: the reader read 0x%08x on %s CPU\n", r.first,
	       r.cpu != main_cpu ? "another" : "the same");
	ok = report_second("tlb_unmap_remote", &r, 0);
	ppfree(pa, 1);		/* kvfree by hand: the page is unmapped already */
	vpfree(NULL, va, 1);
	expect_flushed(ok);
}

/* ---- write permission taken away ------------------------------------ */

KTEST(tlb_write_protect)
{
	struct reader r = { 0 };
	struct thread *t;
	uintptr_t va, pa;
	int main_cpu, ok;

	t = kernel_page_reader(&r, 1, &va, &pa);
	main_cpu = remap_under_reader(&r, t, pa, PTE_PRESENT);	/* read-only now */
	printk("tlb_write_protect: the reader wrote the page on %s CPU: %s\n",
	       r.cpu != main_cpu ? "another" : "the same", r.first_ok ? "yes" : "no");
	ok = report_second("tlb_write_protect", &r, 0);
	printk("tlb_write_protect: the page holds the first write: %s, the second: %s\n",
	       *(volatile uint32_t *)va == NEW_DATA + 1 ? "yes" : "no",
	       *(volatile uint32_t *)va == NEW_DATA + 2 ? "yes" : "no");
	map_mem(NULL, pa, va, 1, PTE_PRESENT | PTE_WRITABLE);
	kvfree(va, 1);
	expect_flushed(ok);
}

/* ---- a freed kernel frame, reused elsewhere ------------------------- */

/* Allocates single pages until it gets pa back (the others go back);
 * 1 if it did. */
static int take_frame(uintptr_t pa)
{
	static uintptr_t tried[REUSE_TRIES];
	int n, found = 0;

	for (n = 0; n < REUSE_TRIES && ppalloc(1, 1, &tried[n]); n++)
		if (tried[n] == pa) {
			found = 1;
			break;
		}
	for (int i = 0; i < n; i++)
		ppfree(tried[i], 1);
	return found;
}

KTEST(tlb_kernel_reuse)
{
	struct reader r = { 0 };
	struct thread *t;
	uintptr_t va, pa, va2;
	int reused, main_cpu, ok;

	need_cpus(2);
	if (!vpalloc(NULL, 1, 1, &va) || !vpalloc(NULL, 1, 1, &va2) || !ppalloc(1, 1, &pa) ||
	    map_mem(NULL, pa, va, 1, PTE_PRESENT | PTE_WRITABLE) < 0)
		ktest_fail("out of memory");
	*(volatile uint32_t *)va = OLD_DATA;
	trap_set_handler(T_PGFLT, catch_probe);
	r.va = (volatile uint32_t *)va;
	t = start_reader(&r);
	/* Unmapped, the frame freed; va stays reserved, so nothing maps it. */
	irq_push();	/* one CPU: ppalloc's per-CPU cache gives pa back here */
	main_cpu = cpu_id();
	map_mem(NULL, 0, va, 1, 0);
	ppfree(pa, 1);
	reused = take_frame(pa);
	irq_pop();
	if (reused) {
		map_mem(NULL, pa, va2, 1, PTE_PRESENT | PTE_WRITABLE);
		*(volatile uint32_t *)va2 = NEW_DATA;
	}
	finish_reader(&r, t);
	trap_set_handler(T_PGFLT, 0);
	printk("tlb_kernel_reuse: the reader read 0x%08x on %s CPU\n", r.first,
	       r.cpu != main_cpu ? "another" : "the same");
	printk("tlb_kernel_reuse: its frame was freed and mapped elsewhere: %s\n",
	       reused ? "yes" : "no");
	ok = report_second("tlb_kernel_reuse", &r, NEW_DATA);
	if (reused) {
		map_mem(NULL, 0, va2, 1, 0);
		ppfree(pa, 1);
	}
	vpfree(NULL, va, 1);
	vpfree(NULL, va2, 1);
	expect_flushed(ok);
}

/* ---- a freed user frame, reused by another process ------------------ */

static struct {
	struct reader r;
	uintptr_t pa;		/* the frame behind process A's heap page */
	volatile int freed;	/* A has shrunk its heap: pa is free */
	volatile int taken;	/* B has mapped pa and written it (1), or gave up (-1) */
	int b_pid;
	int heap_ok;
	int shrink_cpu;		/* where A shrank its heap */
} ur;

/* Process B: waits for the frame to be free, then maps user pages until
 * it gets it, and writes its own data there. */
static int b_main(void *arg)
{
	struct process *p = current_process();
	uintptr_t va = TEST_HEAP, pa;
	uint32_t flags;
	uint32_t deadline = pit_ticks() + WAIT_TICKS;
	int got = 0;

	(void)arg;
	while (!__atomic_load_n(&ur.freed, __ATOMIC_SEQ_CST)) {
		if ((int32_t)(pit_ticks() - deadline) > 0)
			return 1;
		thread_yield();
	}
	for (int i = 0; i < REUSE_TRIES && !got; i++, va += PAGE_SIZE) {
		if (umap_zero(p, va, 1) < 0)
			break;
		got = vm_translate(p->pagedir, va, &pa, &flags) == 0 && pa == ur.pa;
	}
	if (got)
		*(volatile uint32_t *)(va - PAGE_SIZE) = NEW_DATA;
	__atomic_store_n(&ur.taken, got ? 1 : -1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Process A: a heap page read by its reader thread on another CPU, then
 * the heap shrunk (sbrk) while the reader spins. */
static int a_main(void *arg)
{
	struct process *p = current_process();
	struct thread *t;
	uint32_t flags, deadline;
	int status;

	(void)arg;
	ur.b_pid = process_create("tlb-b", b_main, 0);
	if (ur.b_pid < 0)
		return 1;
	p->heap_start = p->brk = TEST_HEAP;
	ur.heap_ok = usbrk(PAGE_SIZE) == (int32_t)TEST_HEAP &&
		     vm_translate(p->pagedir, TEST_HEAP, &ur.pa, &flags) == 0;
	if (!ur.heap_ok)
		return 1;
	*(volatile uint32_t *)TEST_HEAP = OLD_DATA;
	ur.r.va = (volatile uint32_t *)TEST_HEAP;
	t = start_reader(&ur.r);
	irq_push();
	ur.shrink_cpu = cpu_id();
	usbrk(-PAGE_SIZE);	/* unmaps and frees the page */
	irq_pop();
	__atomic_store_n(&ur.freed, 1, __ATOMIC_SEQ_CST);
	deadline = pit_ticks() + WAIT_TICKS;
	while (!__atomic_load_n(&ur.taken, __ATOMIC_SEQ_CST) &&
	       (int32_t)(pit_ticks() - deadline) <= 0)
		thread_yield();
	finish_reader(&ur.r, t);
	process_wait(ur.b_pid, &status);
	return 0;
}

KTEST(tlb_user_reuse)
{
	int pid, status = -1;

	need_cpus(2);
	trap_set_handler(T_PGFLT, catch_probe);
	pid = process_create("tlb-a", a_main, 0);
	if (pid < 0 || process_wait(pid, &status) != pid)
		ktest_fail("process_create/process_wait failed");
	trap_set_handler(T_PGFLT, 0);
	if (status != 0 || !ur.heap_ok)
		ktest_fail("process A could not set up its heap page (status %d)", status);
	printk("tlb_user_reuse: A's reader read 0x%08x from A's heap on %s CPU\n",
	       ur.r.first, ur.r.cpu != ur.shrink_cpu ? "another" : "the same");
	printk("tlb_user_reuse: A shrank its heap; process B got the freed frame: %s\n",
	       ur.taken == 1 ? "yes" : "no");
	expect_flushed(report_second("tlb_user_reuse", &ur.r, NEW_DATA));
}

/* ---- shootdowns from every CPU at once ------------------------------- */

#define STORM_ROUNDS	20
#define STORM_MAX	8

static volatile int storm_bad;

static int storm_nothing(void *arg)
{
	(void)arg;
	return 0;
}

/* Starts n threads running fn(i) and joins them. */
static void run_threads(int n, thread_fn fn)
{
	struct thread *t[STORM_MAX];

	for (int i = 0; i < n; i++)
		if (!(t[i] = thread_create("tlb-storm", fn, (void *)(uintptr_t)i)))
			ktest_fail("thread_create: out of memory");
	for (int i = 0; i < n; i++)
		if (thread_join(t[i], 0) < 0)
			ktest_fail("thread_join failed");
}

/* Frees a kvmalloc'd block with a synchronous shootdown: map_mem's unmap
 * returns once every CPU has flushed, then the frames and the range go. */
static void unmap_now(uintptr_t va, size_t n)
{
	uintptr_t pa[4];
	uint32_t flags;

	for (size_t p = 0; p < n; p++)
		if (vm_translate(NULL, va + p * PAGE_SIZE, &pa[p], &flags) < 0)
			storm_bad = 1;
	map_mem(NULL, 0, va, n, 0);
	for (size_t p = 0; p < n; p++)
		ppfree(pa[p], 1);
	vpfree(NULL, va, n);
}

/* kvmalloc, fill, check, free, over and over, from every CPU at once. Odd
 * rounds unmap by hand: each is a kernel shootdown sent while paging's
 * lock is held. Even rounds kvfree, which batches the other CPUs' flushes
 * (paging.h: unmap_lazy): a batch ends when it is full or when map_mem
 * maps one of its pages again, which the next kvmalloc here or on another
 * CPU may do at once. Each CPU's spin for a lock or for the request slot
 * must serve the others' requests, or two CPUs wait for each other for
 * ever; and no block may see another's data through an old entry. */
static int storm_main(void *arg)
{
	uint32_t tag = 0x57000000u | (uint32_t)(uintptr_t)arg << 16;

	for (uint32_t i = 0; i < STORM_ROUNDS; i++) {
		size_t n = 1 + (i + (uintptr_t)arg) % 4;
		uintptr_t va;

		if (kvmalloc(n, n, &va) != n) {
			storm_bad = 1;
			return -1;
		}
		for (size_t p = 0; p < n; p++)
			*(volatile uint32_t *)(va + p * PAGE_SIZE) = tag | i;
		thread_yield();
		for (size_t p = 0; p < n; p++)
			if (*(volatile uint32_t *)(va + p * PAGE_SIZE) != (tag | i))
				storm_bad = 1;
		if (i % 2)
			unmap_now(va, n);
		else
			kvfree(va, n);
	}
	return 0;
}

KTEST(tlb_storm)
{
	struct page_counts before, after;
	struct tlb_stats st0, st1;
	uint32_t served0[NCPU];
	int n, all = 1, online = 0;

	need_cpus(2);
	for (int i = 0; i < ncpu; i++)
		online += cpus[i].online != 0;
	n = 2 * online < STORM_MAX ? 2 * online : STORM_MAX;
	run_threads(n, storm_nothing);	/* the heap's arena for their structs */
	for (int i = 0; i < ncpu; i++)
		served0[i] = tlb_served(i);
	page_counts(&before);	/* (ends kvfree's batch of frees) */
	tlb_get_stats(&st0);
	/* A CPU that spins for a lock without serving shootdowns (tlb_poll)
	 * deadlocks here: then this is the last line the kernel prints. */
	printk("tlb_storm: %d threads kvmalloc and kvfree from every CPU; a hang here is a "
	       "deadlock: lock_acquire's spin must call tlb_poll() (LAB 8 exercise 3)\n", n);
	run_threads(n, storm_main);
	tlb_get_stats(&st1);
	page_counts(&after);
	for (int i = 0; i < ncpu; i++)
		if (cpus[i].online && tlb_served(i) == served0[i])
			all = 0;
	printk("tlb_storm: %d threads x %d kvmalloc/free rounds done, data intact: %s\n", n,
	       STORM_ROUNDS, storm_bad ? "no" : "yes");
	printk("tlb_storm: every CPU flushed on request: %s\n", all ? "yes" : "no");
	printk("tlb_storm: shootdowns that reached another CPU: %s\n",
	       st1.remote - st0.remote >= (uint32_t)n * STORM_ROUNDS / 2
		       ? "one per unmap by hand or more" : "fewer than unmaps by hand");
	printk("tlb_storm: free pages before and after: %s\n",
	       before.phys_free == after.phys_free && before.kvirt_free == after.kvirt_free
		       ? "equal" : "different");
	if (storm_bad || !all || st1.remote - st0.remote < (uint32_t)n * STORM_ROUNDS / 2 ||
	    before.phys_free != after.phys_free || before.kvirt_free != after.kvirt_free)
		ktest_fail("shootdowns from every CPU at once: %s (LAB 8 exercise 4, "
			   "handouts/lab8-smp.md)",
			   storm_bad ? "data corrupted" : !all ? "a CPU never flushed on request"
			   : st1.remote - st0.remote < (uint32_t)n * STORM_ROUNDS / 2
			   ? "fewer shootdowns reached another CPU than unmaps (ask_others "
			     "returns the mask of the CPUs it asked)"
			   : "pages lost");
}

/* ---- write protection in ring 0, on every CPU ------------------------ */

/* One writer per online CPU: each turns interrupts off and waits until all
 * are waiting, so each holds a CPU of its own; then each writes the
 * read-only page once. With CR0.WP off on a CPU, ring 0 writes read-only
 * pages there (SDM vol. 3, 4.6): lab 4's protection would hold on the boot
 * CPU only. */
static struct {
	volatile uint32_t *page;	/* mapped read-only */
	int n;				/* writers */
	volatile int arrived;
	int timed_out;
	int cpu[NCPU];
	int wp[NCPU];			/* CR0.WP was set there */
	int faulted[NCPU];		/* its write faulted */
} wpt;

static int wp_writer(void *arg)
{
	int i = (int)(uintptr_t)arg;
	uint32_t spins = 0;

	irq_push();
	wpt.cpu[i] = cpu_id();
	__atomic_fetch_add(&wpt.arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&wpt.arrived, __ATOMIC_SEQ_CST) < wpt.n) {
		tlb_poll();
		__asm__ volatile("pause");
		if (++spins == SPIN_LIMIT) {
			wpt.timed_out = 1;
			break;
		}
	}
	wpt.wp[i] = (read_cr0() & CR0_WP) != 0;
	wpt.faulted[i] = tlbt_write(wpt.page, NEW_DATA) < 0;
	irq_pop();
	return 0;
}

KTEST(smp_write_protect)
{
	struct thread *t[NCPU];
	uintptr_t va, pa;
	uint32_t flags, seen = 0;
	int online = 0, wp = 1, faulted = 1, distinct = 1;

	need_cpus(2);
	for (int i = 0; i < ncpu; i++)
		online += cpus[i].online != 0;
	if (!kvmalloc(1, 1, &va) || vm_translate(NULL, va, &pa, &flags) < 0)
		ktest_fail("kvmalloc: out of memory");
	*(volatile uint32_t *)va = OLD_DATA;
	map_mem(NULL, pa, va, 1, PTE_PRESENT);	/* read-only, on every CPU */
	wpt.page = (volatile uint32_t *)va;
	wpt.n = online;
	trap_set_handler(T_PGFLT, catch_probe);
	for (int i = 0; i < online; i++)
		if (!(t[i] = thread_create("wp-writer", wp_writer, (void *)(uintptr_t)i)))
			ktest_fail("thread_create: out of memory");
	for (int i = 0; i < online; i++)
		if (thread_join(t[i], 0) < 0)
			ktest_fail("thread_join failed");
	trap_set_handler(T_PGFLT, 0);
	for (int i = 0; i < online; i++) {
		if (seen & (1u << wpt.cpu[i]))
			distinct = 0;
		seen |= 1u << wpt.cpu[i];
		wp &= wpt.wp[i];
		faulted &= wpt.faulted[i];
	}
	if (wpt.timed_out)
		printk("smp_write_protect: a writer gave up waiting for the others\n");
	printk("smp_write_protect: one writer on each CPU at once: %s\n",
	       distinct && !wpt.timed_out ? "yes" : "no");
	printk("smp_write_protect: CR0.WP set on every CPU: %s\n", wp ? "yes" : "no");
	printk("smp_write_protect: a ring-0 write to a read-only page faulted on every CPU: %s\n",
	       faulted ? "yes" : "no");
	printk("smp_write_protect: the page still holds its data: %s\n",
	       *(volatile uint32_t *)va == OLD_DATA ? "yes" : "no");
	map_mem(NULL, pa, va, 1, PTE_PRESENT | PTE_WRITABLE);
	kvfree(va, 1);
}

/* ---- device registers uncached --------------------------------------- */

/* Whether the page of regs is mapped with PCD and PWT (uncached). */
static const char *uncached(volatile void *regs)
{
	uintptr_t pa;
	uint32_t flags;

	if (!regs || vm_translate(NULL, PAGE_ROUNDDOWN((uintptr_t)regs), &pa, &flags) < 0)
		return "not mapped";
	return (flags & (PTE_PCD | PTE_PWT)) == (PTE_PCD | PTE_PWT) ? "yes" : "no";
}

KTEST(smp_mmio_uncached)
{
	printk("smp_mmio_uncached: the LAPIC's registers mapped uncached (PCD, PWT): %s\n",
	       uncached(lapic_regs()));
	printk("smp_mmio_uncached: the IOAPIC's registers mapped uncached (PCD, PWT): %s\n",
	       uncached(ioapic_regs()));
}
