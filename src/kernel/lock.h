//@ LAB 7 FILE
/*
 * Locks: spinlocks that also turn interrupts off.
 *
 * A lock protects data that threads, interrupt handlers and (lab 8) other
 * CPUs share. lock_acquire disables interrupts on this CPU (irq_push,
 * nesting counted) so that no interrupt handler and no preemption comes in
 * while the lock is held, then takes the lock word with an atomic exchange,
 * spinning (with `pause`) while another CPU holds it. With one CPU (lab 7)
 * the word is always free when the check for a double acquire has passed;
 * lab 8 writes the spin (lock.c).
 *
 * Rules (checked; every panic names the lock):
 *  - no double acquire by the holder, no release by a non-holder;
 *  - a thread must not block (waitq_sleep, thread_yield) while holding a
 *    lock, except the one lock it hands to waitq_sleep;
 *  - locks are taken in rank order: a CPU holding a lock of rank r takes
 *    only locks of rank > r (equal ranks never nest). Checked at run time
 *    when STRATA_LOCK_DEBUG is on (the default: the kernel the tests run).
 *
 * Every lock's declaration says what it protects and its rank. The order,
 * outermost first (each subsystem's header has its part in full):
 *
 *    1..9    the tests' own locks (the labs' ktests.c)
 *   10..19   processes (process.c, uvm.c, initrd.c: kernel/process.h)
 *   30..79   the memory layers (src/mm/mmlock.h): heap, kvmalloc,
 *            paging, vpallocators, ppalloc
 *   90..99   the scheduler (sched.h): ticks, then sched, always last
 *
 * The console (printk.c) has a lock of its own below this layer, which
 * takes no other lock: printk may be called holding any of these.
 */
#ifndef STRATA_LOCK_H
#define STRATA_LOCK_H

#include <stdint.h>

#ifndef STRATA_LOCK_DEBUG
#define STRATA_LOCK_DEBUG	1	/* run-time lock order check (lock.c) */
#endif

struct cpu;

struct lock {
	volatile uint32_t locked;	/* 1 while held: the word CPUs exchange */
	const char *name;
	int rank;		/* place in the lock order: lower is taken first */
	struct cpu *holder;	/* NULL when free */
	uint32_t caller;	/* return address of the lock_acquire call */
	uint32_t acquires;	/* times taken */
	uint32_t spins;		/* of which had to wait for another CPU */
	struct lock *next_known;	/* lock_known's list (locks in kernel data) */
	int known;
};

#define LOCK_INIT(nm, rk) \
	{ .locked = 0, .name = (nm), .rank = (rk), .holder = 0, .caller = 0, \
	  .acquires = 0, .spins = 0, .next_known = 0, .known = 0 }

#define LOCK_HELD_MAX	8	/* locks one CPU may hold at once (debug build) */

void lock_init(struct lock *lk, const char *name, int rank);
void lock_acquire(struct lock *lk);
void lock_release(struct lock *lk);
/* Whether this CPU holds lk. */
int lock_held(struct lock *lk);
/* The innermost lock this CPU holds, or NULL (debug build; else NULL). */
struct lock *lock_innermost(void);
/* Every lock in the kernel's static data taken at least once, newest
 * first (NULL ends it): their acquires and spins are the contention
 * figures (monitor `locks`). Locks in allocated memory are not listed. */
struct lock *lock_known(struct lock *after);

/*
 * LOCK_SCOPE(lk) holds lk until the enclosing block is left, by any return
 * (for a function whose returns are inside a lab's exercise). It takes lk
 * only if this CPU does not hold it already, for a layer that calls itself
 * (map_mem maps a new user page table with map_mem): interrupts are off
 * while a lock is held, so "held by this CPU" is "held by this call chain".
 * One LOCK_SCOPE per block.
 */
#define LOCK_SCOPE(lk) \
	struct lock *lock_scope_ __attribute__((cleanup(lock_scope_end))) = lock_scope_begin(lk)
struct lock *lock_scope_begin(struct lock *lk);	/* lk if it took it, else NULL */
void lock_scope_end(struct lock **taken);

/* Interrupts off, nested: the outermost irq_pop turns them back on if they
 * were on before the outermost irq_push. */
void irq_push(void);
void irq_pop(void);

/* Makes printk's console lock tell threads and CPUs apart (printk.h);
 * called once the per-CPU state works. */
void lock_console_setup(void);

#endif
