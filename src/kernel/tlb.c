//@ LAB 8 FILE
/* TLB shootdown: the request slot, the sender, the receivers (tlb.h). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/lapic.h"
#include "kernel/layout.h"
#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/tlb.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define RESEND_SPINS	(1u << 20)	/* re-send the IPIs to CPUs this slow */
#define GIVEUP_SPINS	(1u << 30)	/* then it is dead or deaf: panic */

/* The one request in flight: written by the sender holding the slot,
 * before it sets pending; read by each CPU in pending, before it clears
 * its bit. */
static struct {
	uint32_t cr3;			/* 0: the kernel half */
	uintptr_t va;
	size_t n_pages;
	volatile uint32_t pending;	/* bit i: cpus[i] has still to flush */
} req;

static volatile uint32_t slot;		/* 1 while a sender owns req */
static struct tlb_stats stats;
static volatile uint32_t served[NCPU];

static inline uint32_t irq_save(void)
{
	uint32_t eflags;

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(eflags) : : "memory");
	return eflags;
}

static inline void irq_restore(uint32_t eflags)
{
	if (eflags & FL_IF)
		__asm__ volatile("sti" ::: "memory");
}

static inline void pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static void count(uint32_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Flushes [va, va + n pages) from this CPU's TLB, or all of it. */
static void flush_here(uintptr_t va, size_t n_pages)
{
	if (n_pages > TLB_FULL_PAGES) {
		write_cr3(read_cr3());
		count(&stats.full);
		return;
	}
	for (size_t i = 0; i < n_pages; i++)
		invlpg(va + i * PAGE_SIZE);
}

void tlb_poll(void)
{
	uint32_t eflags, bit;

	if (!req.pending)
		return;		/* the common case, in every spin loop */
	eflags = irq_save();
	bit = 1u << cpu_id();
	if (req.pending & bit) {
		/* A user directory this CPU has left was flushed by the CR3
		 * load that left it. */
		if (!req.cr3 || req.cr3 == read_cr3())
			flush_here(req.va, req.n_pages);
		served[cpu_id()]++;
		__atomic_fetch_and(&req.pending, ~bit, __ATOMIC_SEQ_CST);
	}
	irq_restore(eflags);
}

static void tlb_ipi(struct trapframe *tf)
{
	(void)tf;
	tlb_poll();
	lapic_eoi();
}

/* Takes the request slot; serves the request in flight while it waits. */
static void slot_take(void)
{
	while (__atomic_exchange_n(&slot, 1, __ATOMIC_ACQUIRE)) {
		pause();
		tlb_poll();
	}
}

static void slot_give(void)
{
	__atomic_store_n(&slot, 0, __ATOMIC_RELEASE);
}

static void send_ipis(uint32_t mask)
{
	for (int i = 0; i < ncpu; i++) {
		if (mask & (1u << i)) {
			lapic_ipi(cpus[i].apic_id, T_IPI_TLB);
			count(&stats.ipis);
		}
	}
}

/*
 * The sender's side (interrupts off; me is this CPU): asks every other CPU
 * that may hold the pages to flush them, and waits until each has.
 * Returns the mask of the CPUs it asked (0: none needed asking).
 */
static uint32_t ask_others(int me, uint32_t cr3, uintptr_t va, size_t n_pages)
{
	//@ LAB 8 BEGIN
	uint32_t mask = 0, spins = 0;

	slot_take();
	/* The caller's PTE writes before our reads of cpus[].cr3 (tlb.h). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < ncpu; i++)
		if (i != me && cpus[i].online && (!cr3 || cpus[i].cr3 == cr3))
			mask |= 1u << i;
	if (!mask) {
		slot_give();
		return 0;
	}
	req.cr3 = cr3;
	req.va = va;
	req.n_pages = n_pages;
	__atomic_store_n(&req.pending, mask, __ATOMIC_SEQ_CST);
	send_ipis(mask);
	while (req.pending) {
		pause();
		if (++spins % RESEND_SPINS == 0)
			send_ipis(req.pending);	/* a lost IPI costs a delay, not a hang */
		if (spins == GIVEUP_SPINS)
			panic("tlb_shootdown(0x%08x, 0x%08x, %u): CPUs 0x%x never acknowledged",
			      cr3, va, n_pages, req.pending);
	}
	slot_give();
	return mask;
	//@ LAB 8 STUB
	//@ /* LAB 8 exercise 4: ask the other CPUs that may hold the pages to
	//@    flush them, wait until they all have, and return the mask of
	//@    those asked (handouts/lab8-smp.md). */
	//@ (void)me, (void)cr3, (void)va, (void)n_pages;
	//@ (void)slot_take, (void)slot_give, (void)send_ipis;
	//@ return 0;
	//@ LAB 8 END
}

/* Flushes this CPU (if local) and the others; interrupts off throughout,
 * so that this CPU stays the one that is not asked. */
static void shootdown(int local, uint32_t cr3, uintptr_t va, size_t n_pages)
{
	uint32_t eflags;

	if (n_pages == 0)
		return;
	eflags = irq_save();
	count(&stats.shootdowns);
	if (local && (!cr3 || cr3 == read_cr3()))
		flush_here(va, n_pages);
	if (ask_others(cpu_id(), cr3, va, n_pages))
		count(&stats.remote);
	irq_restore(eflags);
}

void tlb_shootdown(uint32_t cr3, uintptr_t va, size_t n_pages)
{
	shootdown(1, cr3, va, n_pages);
}

void tlb_shootdown_others(uint32_t cr3, uintptr_t va, size_t n_pages)
{
	shootdown(0, cr3, va, n_pages);
}

void tlb_init(void)
{
	trap_set_handler(T_IPI_TLB, tlb_ipi);
}

void tlb_get_stats(struct tlb_stats *st)
{
	*st = stats;
}

uint32_t tlb_served(int cpu)
{
	return cpu >= 0 && cpu < NCPU ? served[cpu] : 0;
}

MONITOR_COMMAND(tlb, "TLB shootdowns: sent, reaching other CPUs, IPIs, served per CPU")
{
	(void)argc, (void)argv;
	printk("shootdowns %u, to other CPUs %u, IPIs %u, full flushes %u\n",
	       stats.shootdowns, stats.remote, stats.ipis, stats.full);
	for (int i = 0; i < ncpu; i++)
		printk("  cpu %d: served %u\n", i, served[i]);
	return 0;
}
