//@ LAB 8 FILE
/*
 * SMP bring-up (see smp.h). The order in smp_init:
 *
 *   1. the CPUs and the IOAPIC from the ACPI MADT, else the MP table;
 *   2. the boot CPU's LAPIC (this CPU is cpus[0], whatever its APIC ID);
 *   3. the IOAPIC: COM1's IRQ to the boot CPU, the 8259 masked for good;
 *   4. the LAPIC timer, calibrated against the PIT, replaces the PIT;
 *   5. each AP in turn: INIT, 10 ms, STARTUP, 200 us, STARTUP, 200 us (the
 *      SDM's sequence, vol. 3, 8.4.4.1), then up to SMP_START_TIMEOUT_MS
 *      for it to say it runs (ap_main).
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/cpu.h"
#include "kernel/dfault.h"
#include "kernel/gdt.h"
#include "kernel/ioapic.h"
#include "kernel/lapic.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/pic.h"
#include "kernel/pit.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
#include "lib/string.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"

#define COM1_IRQ	4
/* The APs run threads only once lock_acquire spins (smp-locks); until then
 * they start and park. */
#define SMP_SCHED_APS	1
#define MAX_MAPS	16

/* What the trampoline reads (trampoline.S, trampoline_args). */
struct tramp_args {
	uint32_t pgdir;		/* the start-up directory, physical */
	uint32_t kpgdir;	/* the kernel's directory, physical */
	uint32_t stack;		/* the top of the AP's stack */
	struct cpu *cpu;
};

extern char trampoline_start[], trampoline_end[], trampoline_args[];

static struct smp_config cfg;
static uint32_t timer_count;	/* LAPIC timer counts (divided by 16) a tick */

/* The start-up directory: the kernel half of the kernel's directory and
 * the trampoline's page 1:1 (the instruction after CR0.PG is fetched at
 * its physical address). Used by the APs for a few instructions only. */
static uint32_t ap_pgdir[1024] __attribute__((aligned(PAGE_SIZE)));
static uint32_t ap_pgtab[1024] __attribute__((aligned(PAGE_SIZE)));

/* Physical memory the tables are in: low memory through the direct map,
 * the rest (ACPI tables near the top of RAM) mapped read-only, once. */
static struct {
	uintptr_t pa, va;
	size_t pages;
} maps[MAX_MAPS];
static int nmaps;

static const void *phys_map(uintptr_t pa, size_t len)
{
	uintptr_t first = PAGE_ROUNDDOWN(pa), va;
	size_t pages = (PAGE_ROUNDUP(pa + len) - first) / PAGE_SIZE;
	int err = 0;

	if (pa + len < pa)
		return 0;
	if (pa + len <= KERNEL_BOOT_MAPPED)
		return P2V(pa);
	for (int i = 0; i < nmaps; i++)
		if (first >= maps[i].pa && first + pages * PAGE_SIZE <=
		    maps[i].pa + maps[i].pages * PAGE_SIZE)
			return (const void *)(maps[i].va + (pa - maps[i].pa));
	if (nmaps == MAX_MAPS)
		return 0;
	if (vpalloc(NULL, pages, pages, &va) != pages)
		err = -1;
	else if (map_mem(NULL, first, va, pages, PTE_PRESENT) < 0) {
		vpfree(NULL, va, pages);
		err = -1;
	}
	if (err < 0) {
		printk("[smp] cannot map physical 0x%08x-0x%08x\n", pa, pa + len);
		return 0;
	}
	maps[nmaps].pa = first;
	maps[nmaps].va = va;
	maps[nmaps].pages = pages;
	nmaps++;
	return (const void *)(va + (pa - first));
}

/* A device's register page (the LAPIC, the IOAPIC), read-write and
 * uncached (paging.h: map_device). */
static volatile void *mmio_map(uintptr_t pa)
{
	uintptr_t va;
	int err = 0;

	if (vpalloc(NULL, 1, 1, &va) != 1)
		err = -1;
	else if (map_device(PAGE_ROUNDDOWN(pa), va, 1) < 0)
		err = -1;
	if (err < 0)
		panic("smp: cannot map the device registers at 0x%08x", pa);
	return (volatile void *)(va + (pa & (PAGE_SIZE - 1)));
}

/* ---- interrupts ---- */

/* Every CPU's timer: its ticks, the clock (the boot CPU's only), the
 * flushes of its allocator caches other CPUs asked for (malloc's first:
 * emptied arenas may give pages to ppalloc's), then the scheduler; the EOI
 * first, as for the PIT (pit.c). */
static void lapic_timer_irq(struct trapframe *tf)
{
	struct cpu *c = mycpu();

	(void)tf;
	lapic_eoi();
	c->ticks++;
	if (c->id == 0)
		clock_tick();
	malloc_cache_serve();
	ppcache_serve();
	sched_tick();
}

static void spurious_irq(struct trapframe *tf)
{
	(void)tf;	/* no EOI for the spurious vector */
}

/* COM1 through the IOAPIC: the handler only acknowledges it (console.c). */
static void com1_irq(struct trapframe *tf)
{
	(void)tf;
	lapic_eoi();
}

/* The GSI ISA IRQ irq arrives at, and its flags (the overrides). */
static uint32_t isa_gsi(int irq, uint16_t *flags)
{
	for (int i = 0; i < cfg.noverrides; i++)
		if (cfg.overrides[i].irq == irq) {
			*flags = cfg.overrides[i].flags;
			return cfg.overrides[i].gsi;
		}
	*flags = 0;
	return (uint32_t)irq;
}

static void ioapic_setup(void)
{
	uint16_t flags;
	uint32_t gsi;
	int n;

	for (int i = 0; i < cfg.noverrides; i++)
		printk("[smp] interrupt override: ISA IRQ %u -> GSI %u (flags 0x%x)\n",
		       cfg.overrides[i].irq, cfg.overrides[i].gsi, cfg.overrides[i].flags);
	if (cfg.ioapic_id < 0) {
		printk("[smp] no IOAPIC: the serial port is polled at each timer tick\n");
		return;
	}
	n = ioapic_init(mmio_map(cfg.ioapic_phys), cfg.ioapic_gsi_base);
	gsi = isa_gsi(COM1_IRQ, &flags);
	trap_set_handler(T_IRQ0 + COM1_IRQ, com1_irq);
	if (ioapic_route(gsi, T_IRQ0 + COM1_IRQ, cpus[0].apic_id, flags) < 0)
		printk("[smp] IOAPIC has no GSI %u for COM1\n", gsi);
	for (unsigned irq = 0; irq < PIC_IRQS; irq++)
		pic_disable(irq);	/* the 8259 is not used any more */
	printk("[smp] IOAPIC %d at 0x%08x: GSIs %u-%u; COM1 (ISA IRQ %d) -> GSI %u -> cpu 0\n",
	       cfg.ioapic_id, cfg.ioapic_phys, cfg.ioapic_gsi_base,
	       cfg.ioapic_gsi_base + n - 1, COM1_IRQ, gsi);
}

/* How many LAPIC timer counts (divided by 16) one PIT tick lasts: counted
 * over 5 ticks' worth of PIT time (50 ms). */
static void timer_setup(void)
{
	uint32_t n;

	lapic_timer_count();
	pit_delay_us(5 * 1000000 / PIT_HZ);
	n = lapic_timer_elapsed();
	timer_count = n / 5;
	if (timer_count < 16)
		panic("smp: the LAPIC timer did not count (%u in 50 ms)", n);
	trap_set_handler(T_LAPIC_TIMER, lapic_timer_irq);
	trap_set_handler(T_SPURIOUS, spurious_irq);
	printk("[smp] LAPIC timer: %u counts a tick (%u Hz, calibrated against the PIT)\n",
	       timer_count, PIT_HZ);
	lapic_timer_start(timer_count);
}

/* ---- the CPUs ---- */

/* cpus[]: the boot CPU first, then the others in table order, NCPU at most. */
static void cpus_setup(void)
{
	int boot = lapic_id(), seen = 0;

	cpus[0].apic_id = boot;
	for (int i = 0; i < cfg.ncpus; i++)
		if (cfg.apic_ids[i] == boot)
			seen = 1;
	printk("[smp] %s: %d CPU%s enabled, %d not (left off), LAPIC at 0x%08x\n", cfg.source,
	       cfg.ncpus, cfg.ncpus == 1 ? "" : "s", cfg.disabled, cfg.lapic_phys);
	printk("[smp] cpu 0: apic %d (the boot CPU)%s\n", boot,
	       seen ? "" : ", not in the table");
	for (int i = 0; i < cfg.ncpus; i++) {
		struct cpu *c = &cpus[ncpu];

		if (cfg.apic_ids[i] == boot)
			continue;
		if (ncpu == NCPU) {
			printk("[smp] apic %d: more than NCPU (%d) CPUs, left off\n",
			       cfg.apic_ids[i], NCPU);
			continue;
		}
		c->id = ncpu++;
		c->apic_id = cfg.apic_ids[i];
		printk("[smp] cpu %d: apic %d\n", c->id, c->apic_id);
	}
}

static volatile int ap_alive;	/* the AP being started ran ap_main */

/* The AP's first C code, on its idle thread's stack, interrupts off, on
 * the kernel's directory. */
void ap_main(struct cpu *c)
{
	c->starts++;
	cpu_load(c);
	trap_load_idt();
	if (mycpu() != c) {	/* its %gs does not lead to its struct cpu */
		ap_alive = -1;
		for (;;)
			hlt();
	}
	ap_alive = 1;
	c->cr3 = read_cr3();
	c->pagedir = kernel_pagedir();
	dfault_init_cpu(c);
	lapic_enable();
	printk("[smp] cpu %d (apic %d) started\n", c->id, lapic_id());
	c->online = 1;
	/* Shootdowns (tlb.h) ask online CPUs only. One whose sender read
	 * online as 0 changed its PTEs before this store: a full flush after
	 * it (the fence orders the two) drops whatever this CPU cached of
	 * them since its CR3 loads. Until here it touched only memory nobody
	 * unmaps: its stacks, its struct cpu, kernel data, the LAPIC. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	write_cr3(read_cr3());
	if (!SMP_SCHED_APS)
		for (;;)
			hlt();	/* interrupts off: parked until the locks spin */
	lapic_timer_start(timer_count);
	sched_ap_run();
}

static int wait_started(struct cpu *c)
{
	for (int ms = 0; ms < SMP_START_TIMEOUT_MS; ms++) {
		if (c->online)
			return 0;
		if (ap_alive < 0)
			return -1;
		pit_delay_us(1000);
	}
	return c->online ? 0 : -1;
}

/* Everything the AP needs before it runs: idle thread (its stack), the
 * double-fault stack, the trampoline's arguments. */
static int ap_prepare(struct cpu *c, struct tramp_args *args)
{
	struct thread *idle = sched_make_idle(c);
	uintptr_t df;

	if (kvmalloc(DF_STACK_SIZE / PAGE_SIZE, DF_STACK_SIZE / PAGE_SIZE, &df) !=
	    DF_STACK_SIZE / PAGE_SIZE)
		df = 0;
	if (!idle || !df) {
		printk("[smp] cpu %d (apic %d): no memory for its stacks, left off\n", c->id,
		       c->apic_id);
		return -1;
	}
	process_add_kernel_thread(idle);
	c->df_stack = df;
	memcpy(ap_pgdir + USER_PDES, kernel_pagedir()->virt + USER_PDES,
	       KERNEL_PDES * sizeof(uint32_t));
	args->pgdir = V2P(ap_pgdir);
	args->kpgdir = kernel_pagedir()->phys;
	args->stack = idle->stack + idle->stack_pages * PAGE_SIZE;
	args->cpu = c;
	return 0;
}

/* Why the first AP left off did not start ("" while none is): the tests'
 * failure messages quote it (smp_off_reason). */
static const char *off_reason = "";

const char *smp_off_reason(void)
{
	return off_reason;
}

/* Starts c; 0 once it is online, -1 if it did not start (said why). */
static int ap_boot(struct cpu *c, struct tramp_args *args)
{
	if (ap_prepare(c, args) < 0) {
		off_reason = "an AP had no memory for its stacks";
		return -1;
	}
	ap_alive = 0;
	if (lapic_ipi_init(c->apic_id) < 0) {
		printk("[smp] cpu %d (apic %d): the INIT IPI was not sent, left off\n", c->id,
		       c->apic_id);
		off_reason = "the INIT IPI to an AP was not sent";
		return -1;
	}
	pit_delay_us(10000);
	for (int i = 0; i < 2 && !c->online; i++) {
		lapic_ipi_startup(c->apic_id, TRAMPOLINE_PHYS);
		pit_delay_us(200);
	}
	if (wait_started(c) == 0)
		return 0;
	lapic_ipi_init(c->apic_id);	/* stop it wherever it is */
	if (ap_alive < 0)
		off_reason = "the APs did not start: mycpu() on an AP is not its cpus[] entry "
			     "(exercise 2 of lab 8: mycpu, cpu.c)";
	else
		off_reason = "the APs did not start: they never reached ap_main "
			     "(exercise 1 of lab 8: trampoline.S)";
	if (ap_alive < 0)
		printk("[smp] cpu %d (apic %d) did not start: mycpu() there is not cpus[%d] "
		       "(mycpu, cpu.c, handouts/lab8-smp.md), left off\n",
		       c->id, c->apic_id, c->id);
	else
		printk("[smp] cpu %d (apic %d) did not start within %d ms: it never reached "
		       "ap_main (trampoline.S, handouts/lab8-smp.md), left off\n",
		       c->id, c->apic_id, SMP_START_TIMEOUT_MS);
	return -1;
}

static void aps_start(void)
{
	size_t size = trampoline_end - trampoline_start;
	struct tramp_args *args;
	int online = 1;

	if (TRAMPOLINE_PHYS + size > 0x9000)
		panic("smp: the trampoline (%u bytes) does not fit below 0x9000", size);
	memcpy(P2V(TRAMPOLINE_PHYS), trampoline_start, size);
	args = (struct tramp_args *)((char *)P2V(TRAMPOLINE_PHYS) +
				     (trampoline_args - trampoline_start));
	ap_pgdir[0] = V2P(ap_pgtab) | PTE_PRESENT | PTE_WRITABLE;
	ap_pgtab[PTE_INDEX(TRAMPOLINE_PHYS)] = TRAMPOLINE_PHYS | PTE_PRESENT | PTE_WRITABLE;
	printk("[smp] cpu 0 (apic %d) started (the boot CPU)\n", cpus[0].apic_id);
	/* An AP that does not start says something is wrong with all of them
	 * (the trampoline, mycpu): the others are not tried, which keeps a
	 * broken bring-up at one timeout. */
	for (int i = 1; i < ncpu; i++) {
		if (ap_boot(&cpus[i], args) < 0) {
			if (i + 1 < ncpu)
				printk("[smp] cpus %d-%d are not started either\n", i + 1, ncpu - 1);
			break;
		}
		online++;
	}
	if (online < ncpu)	/* the reason again, where a test's output starts */
		printk("[smp] %d CPU%s online, %d left off: %s\n", online, online == 1 ? "" : "s",
		       ncpu - online, off_reason);
	else
		printk("[smp] %d CPU%s online\n", online, online == 1 ? "" : "s");
}

/* smp=mp on the command line skips the MADT, smp=off both tables (tests
 * of the fallbacks). */
void smp_init(void)
{
	char how[8] = "";

	cmdline_get("smp", how, sizeof(how));
	if (!strcmp(how, "off")) {
		printk("[smp] smp=off: running on the boot CPU only\n");
		return;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.ioapic_id = -1;
	if (!strcmp(how, "mp"))
		printk("[smp] smp=mp: the ACPI MADT is not used\n");
	if (!strcmp(how, "mp") || acpi_find(&cfg, phys_map) < 0) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.ioapic_id = -1;
		if (mp_find(&cfg, phys_map) < 0) {
			printk("[smp] no usable ACPI MADT or MP table: running on the boot CPU "
			       "only\n");
			return;
		}
	}
	lapic_init(mmio_map(cfg.lapic_phys ? cfg.lapic_phys : LAPIC_PHYS));
	cpus_setup();
	ioapic_setup();
	timer_setup();
	aps_start();
}
