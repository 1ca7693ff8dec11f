//@ LAB 7 FILE
/*
 * The scheduler: run queue, context switches, preemption, idle threads,
 * wait queues. See sched.h for the state machine and the sleep/wakeup
 * protocol.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/sched.h"
#include "kernel/thread.h"
#include "kernel/x86.h"
#include "mm/paging.h"

/* The run queue, every thread's state and every wait queue's list.
 * Innermost: taken after every other lock. */
static struct lock sched_lock = LOCK_INIT("sched", SCHED_RANK_SCHED);
static struct thread *runq_head, *runq_tail;
static int preemption = 1;

static struct thread idle_threads[NCPU];	/* not from malloc: they never end */

struct thread *current_thread(void)
{
	struct thread *t;

	irq_push();
	t = mycpu()->current;
	irq_pop();
	return t;
}

static void queue_push(struct thread **head, struct thread **tail, struct thread *t)
{
	t->next = 0;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static struct thread *queue_pop(struct thread **head, struct thread **tail)
{
	struct thread *t = *head;

	if (t) {
		*head = t->next;
		if (!*head)
			*tail = 0;
		t->next = 0;
	}
	return t;
}

/* Puts t, now RUNNABLE, at the end of the run queue (idle threads never go
 * there: they run when the queue is empty). */
static void make_runnable(struct thread *t)
{
	t->state = THREAD_RUNNABLE;
	t->waiting = 0;
	if (t != mycpu()->idle)
		queue_push(&runq_head, &runq_tail, t);
}

/* Loads next's page directory if it is not prev's: the threads of one
 * process share its directory, threads of different processes do not. */
static void switch_address_space(struct cpu *c, struct thread *prev, struct thread *next)
{
	if (next->pagedir == prev->pagedir)
		return;
	pagedir_switch(next->pagedir);
	c->cr3_loads++;
}

/* What runs after every switch, on the new thread's stack: the thread
 * switched away from is no longer on its stack. */
static void finish_switch(struct cpu *c)
{
	c->prev->on_cpu = 0;
	c->prev = 0;
}

/*
 * Switches from the running thread, whose state the caller has set (not
 * RUNNING), to the next runnable thread (the idle thread if none). The
 * caller holds sched_lock and no other lock. Returns when the thread is
 * chosen again.
 */
static void sched(void)
{
	struct cpu *c = mycpu();
	struct thread *prev = c->current, *next;
	int intena;

	if (!lock_held(&sched_lock) || c->noff != 1)
		panic("sched: thread %d '%s' switches with %d locks held", prev->tid,
		      prev->name, c->noff);
	if (prev->state == THREAD_RUNNING)
		panic("sched: thread %d '%s' is still RUNNING", prev->tid, prev->name);
	next = queue_pop(&runq_head, &runq_tail);
	if (!next)
		next = c->idle;
	next->state = THREAD_RUNNING;
	next->slice = SCHED_SLICE;
	if (next == prev)
		return;
	if (!next->context)
		panic("sched: thread %d '%s' has no saved context: thread_create did not "
		      "build its first frame (thread.c, handouts/lab7-threads.md)",
		      next->tid, next->name);
	if (next->on_cpu)
		panic("sched: thread %d '%s' is still on another CPU", next->tid, next->name);
	next->on_cpu = 1;
	c->current = next;
	c->prev = prev;
	c->switches++;
	tss_set_kernel_stack(next->stack + next->stack_pages * PAGE_SIZE);
	switch_address_space(c, prev, next);
	intena = c->intena;
	switch_threads(&prev->context, next->context);
	/* prev runs again here, on its own stack, maybe much later. */
	c = mycpu();
	finish_switch(c);
	c->intena = intena;
}

/* switch.S calls this instead of switching while its exercise is not done. */
void switch_missing(void)
{
	panic("switch_threads is not written (switch.S, handouts/lab7-threads.md)");
}

void sched_first_run(void)
{
	finish_switch(mycpu());
	lock_release(&sched_lock);
	__asm__ volatile("sti" ::: "memory");	/* threads start with interrupts on */
}

void thread_yield(void)
{
	lock_acquire(&sched_lock);
	make_runnable(mycpu()->current);
	sched();
	lock_release(&sched_lock);
}

void sched_start(struct thread *t)
{
	lock_acquire(&sched_lock);
	make_runnable(t);
	lock_release(&sched_lock);
}

void sched_exit(struct lock *lk)
{
	struct thread *t;

	lock_acquire(&sched_lock);
	t = mycpu()->current;
	t->state = THREAD_DEAD;
	if (lk)
		lock_release(lk);
	sched();
	panic("sched_exit: dead thread %d '%s' ran again", t->tid, t->name);
}

void sched_set_preemption(int on)
{
	preemption = on;
}

/* Interrupts are off (an interrupt handler). */
void sched_tick(void)
{
	struct cpu *c = mycpu();
	struct thread *t = c->current;

	t->ticks++;
	if (t == c->idle) {
		if (runq_head)
			thread_yield();
		return;
	}
	if (--t->slice <= 0 && preemption)
		thread_yield();
}

/*
 * The idle thread: halts until an interrupt, then lets whatever became
 * runnable run. "sti; hlt" is one unit: sti takes effect after the next
 * instruction, so an interrupt that makes a thread runnable after the check
 * ends the hlt instead of being missed. QEMU idles meanwhile.
 */
static int __attribute__((noreturn)) idle_main(void *arg)
{
	(void)arg;
	for (;;) {
		cli();
		if (runq_head)
			__asm__ volatile("sti" ::: "memory");
		else
			__asm__ volatile("sti; hlt" ::: "memory");
		thread_yield();
	}
}

struct thread *sched_init(struct thread *boot)
{
	struct cpu *c;

	irq_push();
	c = mycpu();
	c->id = 0;
	c->current = boot;
	boot->state = THREAD_RUNNING;
	boot->on_cpu = 1;
	boot->slice = SCHED_SLICE;
	irq_pop();
	/* Not on the run queue: the idle thread runs when it is empty. */
	c->idle = &idle_threads[c->id];
	if (thread_setup(c->idle, "idle", idle_main, 0) < 0)
		panic("sched_init: no memory for the idle thread");
	return c->idle;
}

//@ LAB 8 BEGIN
struct thread *sched_make_idle(struct cpu *c)
{
	c->idle = &idle_threads[c->id];
	if (thread_setup(c->idle, "idle", idle_main, 0) < 0)
		return 0;
	return c->idle;
}

/*
 * An AP joins the scheduler: the context running now, on the idle
 * thread's own stack (ap_start put %esp at its top), becomes the idle
 * thread, RUNNING here. Its first frame, built by thread_setup at the
 * same place, is never used.
 */
void sched_ap_run(void)
{
	struct cpu *c;
	struct thread *t;

	cli();
	c = mycpu();
	t = c->idle;
	lock_acquire(&sched_lock);
	t->state = THREAD_RUNNING;
	t->on_cpu = 1;
	t->slice = SCHED_SLICE;
	c->current = t;
	lock_release(&sched_lock);
	idle_main(0);
}
//@ LAB 8 END

void waitq_init(struct waitq *q, const char *name)
{
	q->name = name;
	q->head = q->tail = 0;
}

void waitq_sleep(struct waitq *q, struct lock *lk)
{
	//@ LAB 7 BEGIN
	struct thread *t;

	/* On q and BLOCKED before lk goes: a waker needs lk to change the
	 * condition, so it comes after this and finds t on q. */
	lock_acquire(&sched_lock);
	t = mycpu()->current;
	t->state = THREAD_BLOCKED;
	t->waiting = q;
	queue_push(&q->head, &q->tail, t);
	if (lk)
		lock_release(lk);
	sched();
	lock_release(&sched_lock);
	if (lk)
		lock_acquire(lk);
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 3: block on q without losing a wakeup (handouts/lab7-threads.md). */
	//@ (void)q, (void)lk;
	//@ panic("waitq_sleep: not written (LAB 7 exercise 3, handouts/lab7-threads.md)");
	//@ LAB 7 END
}

void waitq_wakeup(struct waitq *q)
{
	struct thread *t;

	lock_acquire(&sched_lock);
	while ((t = queue_pop(&q->head, &q->tail)))
		make_runnable(t);
	lock_release(&sched_lock);
}
