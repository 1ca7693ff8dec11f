//@ LAB 7 FILE
/*
 * The scheduler (lab 7): one FIFO run queue, round-robin with a time slice
 * of SCHED_SLICE timer ticks, an idle thread per CPU, and wait queues.
 *
 * Thread states (struct thread.state), all changed under sched_lock:
 *
 *      thread_create            sched() picks it
 *   ----------------> RUNNABLE ------------------> RUNNING
 *                       ^   ^  <------------------  |  |  |
 *                       |   |   thread_yield, the    |  |  | thread_exit
 *      waitq_wakeup     |   |   end of its slice     |  |  v
 *                       |   |                        |  | DEAD --(join/reap frees it)
 *                    BLOCKED <-----------------------+  |
 *                              waitq_sleep              |
 *
 * Locks, in order (lock.h has the whole order):
 *   rank 90  ticks (pit.c): the tick count and the sleepers' queue; held
 *            while a sleeper goes to sleep, so taken before sched.
 *   rank 99  sched (sched.c): the run queue, every thread's state and
 *            context, every wait queue's list and each CPU's current
 *            thread. The innermost lock: taken after any other, never held
 *            while taking another (printk's console lock aside, lock.h).
 *
 * Wait queues. waitq_sleep(q, lk) blocks the calling thread on q and
 * releases lk, the lock that protects the condition the thread waits for:
 *
 *	lock_acquire(&lk);
 *	while (!condition)
 *		waitq_sleep(&q, &lk);
 *	... the condition holds, lk is held ...
 *	lock_release(&lk);
 *
 * and the waker changes the condition and calls waitq_wakeup(&q) with lk
 * held. No wakeup is lost: the sleeper is on q, marked BLOCKED, before lk
 * is released (both under sched_lock), so a waker, which needs lk to change
 * the condition, either ran before the check (the condition is seen true)
 * or runs after the sleeper is on q (and finds it there). The naive
 * protocol, release lk and then block, has a window between the two in
 * which a wakeup finds nobody on q; the sleeper then blocks for good.
 */
#ifndef STRATA_SCHED_H
#define STRATA_SCHED_H

#include <stdint.h>

#include "kernel/thread.h"

struct lock;

#define SCHED_RANK_TICKS	90
#define SCHED_RANK_SCHED	99

#define SCHED_SLICE	5	/* timer ticks a thread runs before it is preempted */

void waitq_init(struct waitq *q, const char *name);
/* Blocks on q and releases lk (held by the caller) atomically; lk is held
 * again on return. lk may be NULL only when the caller accepts that a
 * wakeup before the block is lost (ktests show why not to). */
void waitq_sleep(struct waitq *q, struct lock *lk);
/* Makes every thread on q runnable (none: nothing happens). */
void waitq_wakeup(struct waitq *q);

/* The running thread (safe with interrupts on). */
struct thread *current_thread(void);
/* Sets up this CPU's scheduler with the running context as its first
 * thread (boot); makes and returns its idle thread (not yet in a process). */
struct thread *sched_init(struct thread *boot);
/* Gives the CPU to the next runnable thread; returns at once if none. */
void thread_yield(void);
/* Called by the timer interrupt on every tick: charges the tick to the
 * running thread and preempts it at the end of its slice. */
void sched_tick(void);
/* Makes a new (RUNNABLE) thread eligible to run. */
void sched_start(struct thread *t);
/* The end of thread_exit: marks the running thread DEAD, releases lk (the
 * caller's last lock) and switches away for good. */
void sched_exit(struct lock *lk) __attribute__((noreturn));
/* The first thing a new thread does (thread_start, switch.S): finishes
 * the switch that started it, turns interrupts on. */
void sched_first_run(void);
//@ LAB 8 BEGIN
struct cpu;
/* Makes c's idle thread (its 1-page stack with guard; NULL: no memory). */
struct thread *sched_make_idle(struct cpu *c);
/* The AP, on its idle thread's stack, becomes that thread and idles. */
void sched_ap_run(void) __attribute__((noreturn));
//@ LAB 8 END

/* Tests: preemption on (1, the default) or off (0). */
void sched_set_preemption(int on);

/* What switch_threads (switch.S) calls while it is not written: a clean
 * panic. */
void switch_missing(void) __attribute__((noreturn));

#endif
