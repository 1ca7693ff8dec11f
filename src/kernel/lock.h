//@ LAB 7 FILE
/*
 * Locks (lab 7: one CPU). A lock protects data that threads and interrupt
 * handlers share. With one CPU, mutual exclusion only needs interrupts off
 * while the lock is held: no interrupt handler and no preemption can come
 * in between. lock_acquire therefore disables interrupts (irq_push, nesting
 * counted per CPU) and records the holder; lock_release undoes it. Lab 8
 * keeps this interface and adds the spinning (an atomic exchange) for the
 * other CPUs, so that every caller written now is already correct then.
 *
 * Rules (checked, panics name the lock):
 *  - no double acquire by the holder, no release by a non-holder;
 *  - a thread must not block (waitq_sleep, thread_yield) while holding a
 *    lock, except the one lock it hands to waitq_sleep;
 *  - locks are taken in the order written at their declarations; the
 *    scheduler's lock (sched.c) is always the last (innermost) one.
 */
#ifndef STRATA_LOCK_H
#define STRATA_LOCK_H

#include <stdint.h>

struct cpu;

struct lock {
	const char *name;
	struct cpu *holder;	/* NULL when free */
	uint32_t caller;	/* return address of the lock_acquire call */
};

#define LOCK_INIT(nm)	{ .name = (nm), .holder = 0, .caller = 0 }

/*
 * The memory layers (ppalloc, vpalloc, map_mem and the directory list,
 * kvmalloc, malloc) have no lock of their own yet (lab 8 gives each one).
 * With preemption, two threads could be inside one of them at once, so a
 * thread calls them holding mm_lock: thread.c and process.c do, and so
 * must any code that allocates while other threads may. Taken alone: no
 * other lock is held with it.
 */
extern struct lock mm_lock;

void lock_init(struct lock *lk, const char *name);
void lock_acquire(struct lock *lk);
void lock_release(struct lock *lk);
/* Whether this CPU holds lk. */
int lock_held(struct lock *lk);

/* Interrupts off, nested: the outermost irq_pop turns them back on if they
 * were on before the outermost irq_push. */
void irq_push(void);
void irq_pop(void);

#endif
