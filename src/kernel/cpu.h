//@ LAB 7 FILE
/*
 * Per-CPU state (lab 7 has one CPU; lab 8 adds the others).
 *
 * Everything that differs between CPUs lives in struct cpu and is reached
 * through mycpu() only, so that lab 8 changes mycpu's body (a segment
 * register instead of &cpus[0]) and nothing else. mycpu() panics when
 * interrupts are on: the thread could be moved to another CPU between the
 * lookup and the use. current_thread() (sched.h) is safe anywhere.
 */
#ifndef STRATA_CPU_H
#define STRATA_CPU_H

#include <stdint.h>

struct thread;

struct cpu {
	int id;			/* 0 is the boot CPU */
	struct thread *current;	/* the thread running here */
	struct thread *idle;	/* runs when nothing else is runnable */
	struct thread *prev;	/* during a switch: the thread switched away from */
	int noff;		/* depth of irq_push nesting (lock.h) */
	int intena;		/* were interrupts on before the outermost irq_push? */
	uint32_t switches;	/* context switches done here */
	uint32_t cr3_loads;	/* of which loaded another page directory */
};

#define NCPU	1	/* lab 8 raises it */

/* This CPU's state; interrupts must be off (panics otherwise). */
struct cpu *mycpu(void);

#endif
