//@ LAB 7 FILE
/*
 * Per-CPU state (lab 7 has one CPU; lab 8 adds the others).
 *
 * Everything that differs between CPUs lives in struct cpu and is reached
 * through mycpu() only. mycpu() panics when interrupts are on: the thread
 * could be moved to another CPU between the lookup and the use.
 * current_thread() (sched.h) is safe anywhere.
 *
 * Lab 8: each CPU's %gs holds SEG_KCPU, a segment of that CPU's own GDT
 * whose base is its struct cpu, so %gs:0 is the struct's first field,
 * self, a pointer to the struct: mycpu() is one load. The boot CPU sets
 * its %gs up first thing (cpu_boot_init, before the first lock); an AP in
 * ap_main (smp.c) before anything else.
 */
#ifndef STRATA_CPU_H
#define STRATA_CPU_H

#include <stdint.h>

#include "kernel/gdt.h"

struct thread;
struct pagedir;

struct cpu {
	struct cpu *self;	/* %gs:0 (lab 8): this struct */
	int id;			/* 0 is the boot CPU; cpus[id] */
	struct thread *current;	/* the thread running here */
	struct thread *idle;	/* runs when nothing else is runnable */
	struct thread *prev;	/* during a switch: the thread switched away from */
	int noff;		/* depth of irq_push nesting (lock.h) */
	int intena;		/* were interrupts on before the outermost irq_push? */
	uint32_t switches;	/* context switches done here */
	uint32_t cr3_loads;	/* of which loaded another page directory */
	//@ LAB 8 BEGIN
	int apic_id;		/* its local APIC's ID (MADT; not always == id) */
	volatile int online;	/* 1 once it runs the scheduler (0 for a CPU left off) */
	int starts;		/* times it ran ap_main: 1 for an AP that started */
	volatile uint32_t ticks;	/* its LAPIC timer's ticks */
	volatile uint32_t cr3;	/* the directory loaded there (kept at every CR3 load) */
	struct pagedir *pagedir;	/* the same as a struct pagedir (paging.c) */
	uint64_t gdt[GDT_ENTRIES];	/* its own GDT: SEG_TSS is tss, SEG_KCPU this struct */
	struct tss tss;		/* esp0: the running thread's kernel stack */
	struct tss df_tss;	/* its double-fault task (dfault.c) */
	uintptr_t df_stack;	/* that task's stack (lowest address) */
	//@ LAB 8 END
};

#define NCPU	16	/* CPUs beyond the first NCPU found are left off (smp.c) */

extern struct cpu cpus[NCPU];
extern int ncpu;	/* CPUs in use: cpus[0 .. ncpu) (1 until smp_init) */

/* This CPU's state; interrupts must be off (panics otherwise). */
struct cpu *mycpu(void);
/* mycpu()->id, under the same rule. */
int cpu_id(void);

//@ LAB 8 BEGIN
/* The boot CPU's own GDT, TSS and %gs; before anything takes a lock. */
void cpu_boot_init(void);
/* Gives c (c->id set) its GDT, TSS and %gs on the calling CPU. */
void cpu_load(struct cpu *c);
/*
 * Waits, interrupts on, until pending(arg, i) is 0 for every online CPU i,
 * or until CPU i's timer has ticked max_ticks times since the call (for a
 * request each CPU serves at its tick: the allocators' cache flushes).
 * Returns 0, or -1 if some CPU ran out of ticks.
 */
int cpu_wait_each(int (*pending)(void *arg, int cpu), void *arg, uint32_t max_ticks);
#define CACHE_FLUSH_TICKS	4	/* the allocators' caches: each tick serves */
//@ LAB 8 END

#endif
