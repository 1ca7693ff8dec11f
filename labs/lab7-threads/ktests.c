/*
 * Lab 7 in-kernel tests, part 1: threads, the scheduler, sleep/wakeup,
 * processes, page accounting, the kernel stack guard. Concurrent tests
 * print their summaries after they join, so traces do not depend on how
 * the threads interleaved.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/gdt.h"
#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/thread.h"
#include "kernel/x86.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"

#define WATCHDOG_TICKS	500	/* 5 s: a test that waits longer has lost a wakeup */

/* Context switches on every CPU (with several CPUs, lab 8, the threads a
 * test makes may run anywhere). */
static uint32_t switches(void)
{
	uint32_t n = 0;

	for (int i = 0; i < ncpu; i++)
		n += cpus[i].switches;
	return n;
}

static uint32_t cr3_loads(void)
{
	uint32_t n;

	irq_push();
	n = mycpu()->cr3_loads;
	irq_pop();
	return n;
}

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

/* ---- create, join, exit -------------------------------------------- */

static int times_two(void *arg)
{
	return 2 * (int)(uintptr_t)arg;
}

static void exit_from_deep(int v)
{
	thread_exit(v);
}

static int exits_early(void *arg)
{
	exit_from_deep(100 + (int)(uintptr_t)arg);
	return -1;	/* not reached */
}

static int sleeps(void *arg)
{
	sleep_ticks((uint32_t)(uintptr_t)arg);
	return 5;
}

/* 1 if the TSS's esp0 is the top of this thread's stack (set by sched()
 * on every switch: where a trap from user mode will land, part 2). */
static int checks_esp0(void *arg)
{
	struct thread *t = current_thread();

	(void)arg;
	thread_yield();
	return gdt_tss()->esp0 == t->stack + t->stack_pages * PAGE_SIZE;
}

static int joins(void *arg)
{
	int v = 0;

	if (thread_join(arg, &v) < 0)
		return -1;
	return v;
}

KTEST(thread_create_join)
{
	struct thread *t[4], *e, *s, *j;
	int v;

	for (int i = 0; i < 4; i++)
		KEXPECT((t[i] = thread_create("worker", times_two, (void *)(uintptr_t)(i + 1))));
	KEXPECT((e = thread_create("exiter", exits_early, (void *)7)));
	for (int i = 0; i < 4; i++) {
		v = -1;
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		KEXPECT_EQ(v, 2 * (i + 1));
	}
	printk("thread_create_join: 4 threads returned 2 4 6 8\n");
	KEXPECT_EQ(thread_join(e, &v), 0);
	KEXPECT_EQ(v, 107);
	printk("thread_create_join: thread_exit(107) from a nested call gave 107\n");
	KEXPECT_EQ(thread_join(current_thread(), &v), -1);
	KEXPECT_EQ(thread_join(NULL, &v), -1);
	/* s is joined by j: nobody else may join it. */
	KEXPECT((s = thread_create("sleeper", sleeps, (void *)5)));
	KEXPECT((j = thread_create("joiner", joins, s)));
	while (!s->joined)
		thread_yield();
	KEXPECT_EQ(thread_join(s, &v), -1);
	KEXPECT_EQ(thread_join(j, &v), 0);
	KEXPECT_EQ(v, 5);
	printk("thread_create_join: joining itself, NULL or a thread already joined fails\n");
	KEXPECT((s = thread_create("esp0", checks_esp0, 0)));
	KEXPECT((j = thread_create("esp0", checks_esp0, 0)));
	KEXPECT_EQ(thread_join(s, &v), 0);
	KEXPECT_EQ(v, 1);
	KEXPECT_EQ(thread_join(j, &v), 0);
	KEXPECT_EQ(v, 1);
	KEXPECT_EQ(gdt_tss()->esp0, (uintptr_t)current_thread()->stack + BOOT_STACK_SIZE);
	printk("thread_create_join: the TSS's esp0 is the running thread's stack top\n");
}

/* ---- many threads, no page lost ------------------------------------ */

#define MANY	200

static struct lock gate_lock = LOCK_INIT("gate", 5);
static struct waitq gate_q = WAITQ_INIT("gate");
static int gate_open, gate_waiting;

static int waits_at_gate(void *arg)
{
	lock_acquire(&gate_lock);
	gate_waiting++;
	while (!gate_open)
		waitq_sleep(&gate_q, &gate_lock);
	lock_release(&gate_lock);
	return (int)(uintptr_t)arg;
}

/* MANY threads alive at once, then released and joined; the sum of their
 * exit values. */
static int many_threads(struct page_counts *during)
{
	static struct thread *t[MANY];
	int sum = 0, v;

	gate_open = gate_waiting = 0;
	for (int i = 0; i < MANY; i++)
		KEXPECT((t[i] = thread_create("many", waits_at_gate, (void *)(uintptr_t)(i + 1))));
	while (gate_waiting < MANY)
		sleep_ticks(1);
	page_counts(during);
	lock_acquire(&gate_lock);
	gate_open = 1;
	waitq_wakeup(&gate_q);
	lock_release(&gate_lock);
	for (int i = 0; i < MANY; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		sum += v;
	}
	return sum;
}

KTEST(thread_many)
{
	struct page_counts before, during, after;

	/* The first round may leave a kernel page table and one heap arena
	 * behind for good (both are kept by design); the second is measured. */
	KEXPECT_EQ(many_threads(&during), MANY * (MANY + 1) / 2);
	page_counts(&before);
	KEXPECT_EQ(many_threads(&during), MANY * (MANY + 1) / 2);
	page_counts(&after);
	printk("thread_many: %d threads alive at once, joined, exit values sum to %d\n",
	       MANY, MANY * (MANY + 1) / 2);
	KEXPECT(before.phys_free - during.phys_free >= MANY);
	KEXPECT(before.kvirt_free - during.kvirt_free >= 2 * MANY);
	printk("thread_many: each held a stack page and two kernel virtual pages\n");
	printk("thread_many: free physical pages %u -> %u\n", before.phys_free, after.phys_free);
	printk("thread_many: free kernel virtual pages %u -> %u\n", before.kvirt_free,
	       after.kvirt_free);
	KEXPECT_EQ(after.phys_free, before.phys_free);
	KEXPECT_EQ(after.kvirt_free, before.kvirt_free);
}

/* ---- preemption ---------------------------------------------------- */

static volatile int printer_done;

/* Never yields: only the timer takes the CPU away. Gives up after
 * WATCHDOG_TICKS so that a kernel without preemption fails, not hangs. */
static int spinner(void *arg)
{
	uint32_t start = pit_ticks();

	(void)arg;
	while (!printer_done && pit_ticks() - start < WATCHDOG_TICKS)
		;
	return printer_done;
}

static int printer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 5; i++)
		printk("preempt: printer line %d\n", i);
	printer_done = 1;
	return 0;
}

/* Three spinners per CPU (lab 8: with several CPUs, as many spinners as
 * CPUs would leave the printer a CPU of its own, preemption or not). */
KTEST(preempt)
{
	struct thread *s[3 * NCPU], *p;
	uint32_t sw = switches();
	int v, saw = 0, n = 3 * ncpu;

	for (int i = 0; i < n; i++)
		KEXPECT((s[i] = thread_create("spinner", spinner, 0)));
	KEXPECT((p = thread_create("printer", printer, 0)));
	for (int i = 0; i < n; i++) {
		KEXPECT_EQ(thread_join(s[i], &v), 0);
		saw += v;
	}
	KEXPECT_EQ(thread_join(p, &v), 0);
	if (saw != n)
		ktest_fail("%d of %d spinners gave up after %d ticks: the printer was starved",
			   n - saw, n, WATCHDOG_TICKS);
	KEXPECT(switches() - sw >= 4);
	printk("preempt: 3 threads per CPU spun without yielding; the printer still ran\n");
}

/* ---- yield order --------------------------------------------------- */

static char order[16];
static int n_order;

static int yielder(void *arg)
{
	for (int i = 0; i < 3; i++) {
		order[n_order++] = *(char *)arg;
		thread_yield();
	}
	return 0;
}

KTEST(yield_order)
{
	static char names[] = "ABC";
	struct thread *t[3];

	/* With preemption off the order is the run queue's alone. */
	sched_set_preemption(0);
	for (int i = 0; i < 3; i++)
		KEXPECT((t[i] = thread_create("yielder", yielder, &names[i])));
	for (int i = 0; i < 3; i++)
		KEXPECT_EQ(thread_join(t[i], NULL), 0);
	sched_set_preemption(1);
	order[n_order] = '\0';
	printk("yield_order: %s\n", order);
	KEXPECT(n_order == 9);
	for (int i = 0; i < 9; i++)
		KEXPECT_EQ(order[i], names[i % 3]);
}

/* ---- sleep and wakeup ---------------------------------------------- */

static struct lock pc_lock = LOCK_INIT("pc", 5);
static struct waitq nonempty = WAITQ_INIT("nonempty");
static struct waitq nonfull = WAITQ_INIT("nonfull");
static int items, slot, sleeps_seen;
static volatile int in_window, produced;

/* The naive protocol: check, release the lock, then block. The producer
 * comes in the window between the two, as a preemption at the worst
 * moment would let it: the consumer waits there (yielding: on one CPU the
 * producer runs then; with several it may run on another at once) until
 * the producer's wakeup has come and gone. */
static int naive_consumer(void *arg)
{
	(void)arg;
	lock_acquire(&pc_lock);
	if (items == 0) {
		lock_release(&pc_lock);
		in_window = 1;
		while (!produced)
			thread_yield();
		waitq_sleep(&nonempty, NULL);
		lock_acquire(&pc_lock);
	}
	items--;
	lock_release(&pc_lock);
	return 0;
}

/* Produces one item once the consumer is in its window. */
static int one_producer(void *arg)
{
	(void)arg;
	while (!in_window)
		thread_yield();
	lock_acquire(&pc_lock);
	items++;
	waitq_wakeup(&nonempty);
	lock_release(&pc_lock);
	produced = 1;
	return 0;
}

static void naive_loses_a_wakeup(void)
{
	struct thread *c, *p;

	items = 0;
	in_window = produced = 0;
	sched_set_preemption(0);
	KEXPECT((c = thread_create("consumer", naive_consumer, 0)));
	KEXPECT((p = thread_create("producer", one_producer, 0)));
	KEXPECT_EQ(thread_join(p, NULL), 0);
	sleep_ticks(5);
	KEXPECT_EQ(c->state, THREAD_BLOCKED);
	KEXPECT(c->waiting == &nonempty);
	KEXPECT_EQ(items, 1);
	printk("sleep_wakeup: naive protocol: the wakeup came in the window and was lost; "
	       "the consumer sleeps with 1 item waiting\n");
	waitq_wakeup(&nonempty);	/* rescue it */
	KEXPECT_EQ(thread_join(c, NULL), 0);
	KEXPECT_EQ(items, 0);
	sched_set_preemption(1);
}

#define PER_THREAD	1000

/* A one-slot buffer (slot, items 0 or 1) between 2 producers and 2
 * consumers, with preemption on and spinning to move the preemption points
 * around: a lost wakeup leaves them all asleep. */
static int producer(void *arg)
{
	int base = (int)(uintptr_t)arg;

	for (int i = 1; i <= PER_THREAD; i++) {
		lock_acquire(&pc_lock);
		while (items == 1)
			waitq_sleep(&nonfull, &pc_lock);
		slot = base + i;
		items = 1;
		waitq_wakeup(&nonempty);
		lock_release(&pc_lock);
		spin(i % 7 * 50);
	}
	return 0;
}

static int consumer(void *arg)
{
	int sum = 0;

	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		lock_acquire(&pc_lock);
		while (items == 0) {
			sleeps_seen++;
			waitq_sleep(&nonempty, &pc_lock);
		}
		sum += slot;
		items = 0;
		waitq_wakeup(&nonfull);
		lock_release(&pc_lock);
		spin(i % 5 * 60);
	}
	return sum;
}

static volatile int pc_finished;

static int finishes(void *arg)
{
	struct thread *t = arg;
	int v;

	if (thread_join(t, &v) < 0)
		return -1;
	__atomic_fetch_add(&pc_finished, 1, __ATOMIC_SEQ_CST);	/* (lab 8: from any CPU) */
	return v;
}

KTEST(sleep_wakeup)
{
	struct thread *t[4], *w[4];
	int v, sum = 0, want = 0;
	uint32_t start;

	naive_loses_a_wakeup();
	items = 0;
	sleeps_seen = 0;
	pc_finished = 0;
	KEXPECT((t[0] = thread_create("producer", producer, (void *)0)));
	KEXPECT((t[1] = thread_create("producer", producer, (void *)100000)));
	KEXPECT((t[2] = thread_create("consumer", consumer, 0)));
	KEXPECT((t[3] = thread_create("consumer", consumer, 0)));
	/* Joined by helpers, so that this thread can keep a watchdog. */
	for (int i = 0; i < 4; i++)
		KEXPECT((w[i] = thread_create("finish", finishes, t[i])));
	start = pit_ticks();
	while (pc_finished < 4) {
		if (pit_ticks() - start > WATCHDOG_TICKS)
			ktest_fail("after %d ticks %d of 4 producers and consumers still wait: "
				   "a wakeup was lost", WATCHDOG_TICKS, 4 - pc_finished);
		sleep_ticks(2);
	}
	for (int i = 0; i < 4; i++) {
		KEXPECT_EQ(thread_join(w[i], &v), 0);
		sum += i >= 2 ? v : 0;
	}
	for (int i = 1; i <= PER_THREAD; i++)
		want += i + (100000 + i);
	KEXPECT_EQ(sum, want);
	KEXPECT_EQ(items, 0);
	KEXPECT(sleeps_seen > 0);
	printk("sleep_wakeup: 2 producers, 2 consumers, %d items through a 1-slot buffer: "
	       "none lost, none taken twice\n", 2 * PER_THREAD);
}

/* ---- the timer ----------------------------------------------------- */

static char woke[8];
static int n_woke;

static int sleeper(void *arg)
{
	int n = (int)(uintptr_t)arg;

	sleep_ticks(n * 10);
	woke[n_woke++] = (char)('0' + n);
	return 0;
}

KTEST(timer_sleep)
{
	static const int order[5] = { 5, 1, 4, 2, 3 };
	struct thread *t[5];
	uint32_t t0, t1, idle0, idle1;

	t0 = pit_ticks();
	sleep_ticks(10);
	t1 = pit_ticks();
	KEXPECT(t1 - t0 >= 10);
	printk("timer_sleep: sleep_ticks(10) slept at least 10 ticks\n");
	irq_push();
	idle0 = mycpu()->idle->ticks;
	irq_pop();
	for (int i = 0; i < 5; i++)
		KEXPECT((t[i] = thread_create("sleeper", sleeper, (void *)(uintptr_t)order[i])));
	for (int i = 0; i < 5; i++)
		KEXPECT_EQ(thread_join(t[i], NULL), 0);
	irq_push();
	idle1 = mycpu()->idle->ticks;
	irq_pop();
	woke[n_woke] = '\0';
	printk("timer_sleep: sleepers of 50 10 40 20 30 ticks woke as %s\n", woke);
	KEXPECT(n_woke == 5 && woke[0] == '1' && woke[4] == '5');
	KEXPECT(idle1 - idle0 >= 40);
	printk("timer_sleep: the idle thread ran while everyone slept\n");
}

/* ---- processes ----------------------------------------------------- */

static volatile int grandchild_pid;
static struct lock release_lock = LOCK_INIT("release", 5);
static struct waitq release_q = WAITQ_INIT("release");
static int released;

static void wait_release(void)
{
	lock_acquire(&release_lock);
	while (!released)
		waitq_sleep(&release_q, &release_lock);
	lock_release(&release_lock);
}

static void release_all(void)
{
	lock_acquire(&release_lock);
	released = 1;
	waitq_wakeup(&release_q);
	lock_release(&release_lock);
}

static int grandchild(void *arg)
{
	(void)arg;
	wait_release();
	return 3;
}

static int parent_of_one(void *arg)
{
	int st;

	(void)arg;
	grandchild_pid = process_create("grandchild", grandchild, 0);
	if (process_wait(grandchild_pid, &st) != grandchild_pid || st != 3)
		return -1;
	process_exit(42);
}

static volatile int orphan_pid;

static int orphan(void *arg)
{
	(void)arg;
	wait_release();
	return 9;
}

/* Ends without waiting for its child. */
static int abandons(void *arg)
{
	(void)arg;
	orphan_pid = process_create("orphan", orphan, 0);
	return orphan_pid > 0 ? 0 : -1;
}

static int returns_arg(void *arg)
{
	return (int)(uintptr_t)arg;
}

static void wait_zombie(int pid)
{
	struct process *p;

	for (int i = 0; i < WATCHDOG_TICKS; i++) {
		if ((p = process_find(pid)) && p->state == PROCESS_ZOMBIE)
			return;
		sleep_ticks(1);
	}
	ktest_fail("process %d did not end", pid);
}

KTEST(process_wait)
{
	int pid, pid2, st = -1;

	KEXPECT((pid = process_create("child", returns_arg, (void *)7)) > 0);
	wait_zombie(pid);
	printk("process_wait: the child's thread returned 7; the child is a zombie until "
	       "reaped\n");
	KEXPECT_EQ(process_wait(pid, &st), pid);
	KEXPECT_EQ(st, 7);
	KEXPECT(process_find(pid) == NULL);
	KEXPECT_EQ(process_wait(pid, &st), -1);
	printk("process_wait: reaped once with status 7; waiting again fails\n");
	released = 0;
	KEXPECT((pid2 = process_create("parent", parent_of_one, 0)) > 0);
	while (!grandchild_pid)
		sleep_ticks(1);
	KEXPECT_EQ(process_wait(grandchild_pid, &st), -1);	/* alive, not ours */
	KEXPECT_EQ(process_wait(0, &st), -1);			/* the kernel process */
	KEXPECT_EQ(thread_join(process_find(pid2)->threads, &st), -1);	/* another process's */
	release_all();
	KEXPECT_EQ(process_wait(-1, &st), pid2);
	KEXPECT_EQ(st, 42);
	KEXPECT_EQ(process_wait(-1, &st), -1);			/* no children left */
	printk("process_wait: waiting on a grandchild or on pid 0 fails; process_exit(42) "
	       "gave 42\n");
	printk("process_wait: joining a thread of another process fails\n");
	released = 0;
	KEXPECT((pid = process_create("abandons", abandons, 0)) > 0);
	KEXPECT_EQ(process_wait(pid, &st), pid);
	KEXPECT_EQ(st, 0);
	KEXPECT(process_find(orphan_pid) != NULL);
	KEXPECT_EQ(process_find(orphan_pid)->parent->pid, -1);
	KEXPECT_EQ(process_wait(orphan_pid, &st), -1);
	release_all();
	for (int i = 0; process_find(orphan_pid); i++) {
		if (i == WATCHDOG_TICKS)
			ktest_fail("the orphan %d was not reaped", orphan_pid);
		sleep_ticks(1);
	}
	printk("process_wait: a child whose parent ended is an orphan (parent -1); the "
	       "reaper reaps it\n");
}

/* ---- address spaces ------------------------------------------------ */

#define USER_PAGES	3

/* Maps n fresh user pages in the current process (each from its own
 * ppalloc, as process.h requires); returns their address or 0. */
static uintptr_t map_user_pages(size_t n)
{
	struct process *p = current_process();
	uintptr_t va = 0, pa;

	if (!vpalloc(&p->vpa, n, n, &va))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!ppalloc(1, 1, &pa) ||
		    map_mem(p->pagedir, pa, va + i * PAGE_SIZE, 1,
			    PTE_PRESENT | PTE_WRITABLE | PTE_USER) < 0) {
			va = 0;	/* what was mapped goes at teardown */
			break;
		}
	}
out:
	return va;
}

struct pingpong {
	int mark;		/* written to the process's user page */
	uint32_t loads;		/* CR3 loads while the two threads alternated */
	int ok;
};

static int pong(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		thread_yield();
	return 0;
}

/* The first thread of a process: checks its directory is loaded, writes
 * its mark to a user page, then alternates with a second thread. */
static int ping(void *arg)
{
	struct pingpong *pp = arg;
	struct thread *t;
	volatile int *mem;
	uint32_t l0;

	if (read_cr3() != current_process()->pagedir->phys ||
	    read_cr3() == kernel_pagedir()->phys)
		return -1;
	if (!(mem = (volatile int *)map_user_pages(1)))
		return -2;
	*mem = pp->mark;
	if (!(t = thread_create("pong", pong, 0)))
		return -3;
	l0 = cr3_loads();
	for (int i = 0; i < 10; i++)
		thread_yield();
	pp->loads = cr3_loads() - l0;
	thread_join(t, NULL);
	pp->ok = *mem == pp->mark;
	return 1 + (int)(((uintptr_t)mem - UVIRT_START) / PAGE_SIZE);	/* its page, from 1 */
}

KTEST(process_switch)
{
	struct pingpong a = { 0xaaaa, 0, 0 }, b = { 0xbbbb, 0, 0 };
	int pa, pb, va, vb;
	uint32_t l0;

	sched_set_preemption(0);
	KEXPECT((pa = process_create("ping", ping, &a)) > 0);
	KEXPECT_EQ(process_wait(pa, &va), pa);
	KEXPECT(va > 0);
	KEXPECT_EQ(a.loads, 0);
	KEXPECT(a.ok);
	printk("process_switch: two threads of one process took turns 20 times: no CR3 load\n");
	l0 = cr3_loads();
	KEXPECT((pa = process_create("ping", ping, &a)) > 0);
	KEXPECT((pb = process_create("ping", ping, &b)) > 0);
	KEXPECT_EQ(process_wait(pa, &va), pa);
	KEXPECT_EQ(process_wait(pb, &vb), pb);
	sched_set_preemption(1);
	KEXPECT(va > 0 && vb > 0);
	KEXPECT(a.ok && b.ok);
	KEXPECT(a.loads > 0 && b.loads > 0);
	KEXPECT(cr3_loads() - l0 >= 20);
	printk("process_switch: threads of two processes took turns: CR3 loaded on each "
	       "switch between them\n");
	KEXPECT_EQ(va, vb);
	printk("process_switch: the same user address held 0xaaaa in one and 0xbbbb in the "
	       "other\n");
}

/* ---- page accounting ----------------------------------------------- */

static int helper(void *arg)
{
	volatile int *mem = arg;

	return *mem + 1;
}

/* A process's life: user pages, a joined thread, a thread left for the
 * reaper, a CR3 of its own. */
static int lifetime(void *arg)
{
	volatile int *mem = (volatile int *)map_user_pages(USER_PAGES);
	struct thread *t;
	int v;

	(void)arg;
	if (!mem)
		return -1;
	for (int i = 0; i < USER_PAGES; i++)
		mem[i * PAGE_SIZE / sizeof(int)] = i;
	if (!(t = thread_create("helper", helper, (void *)mem)) || thread_join(t, &v) < 0)
		return -2;
	if (!thread_create("unjoined", helper, (void *)mem))
		return -3;
	return v;
}

#define LIFETIMES	100

KTEST(process_pages)
{
	struct page_counts before, after;
	int pid, st;

	/* One lifetime first: it may create a kernel page table and a heap
	 * arena that stay (both are kept by design). */
	KEXPECT((pid = process_create("life", lifetime, 0)) > 0);
	KEXPECT_EQ(process_wait(pid, &st), pid);
	KEXPECT_EQ(st, 1);
	page_counts(&before);
	for (int i = 0; i < LIFETIMES; i++) {
		KEXPECT((pid = process_create("life", lifetime, 0)) > 0);
		KEXPECT_EQ(process_wait(pid, &st), pid);
		KEXPECT_EQ(st, 1);
	}
	page_counts(&after);
	printk("process_pages: %d processes, each with %d user pages and 3 threads, "
	       "created and reaped\n", LIFETIMES, USER_PAGES);
	printk("process_pages: free physical pages %u -> %u\n", before.phys_free,
	       after.phys_free);
	printk("process_pages: free kernel virtual pages %u -> %u\n", before.kvirt_free,
	       after.kvirt_free);
	KEXPECT_EQ(after.phys_free, before.phys_free);
	KEXPECT_EQ(after.kvirt_free, before.kvirt_free);
}

/* ---- the kernel stack guard ---------------------------------------- */

static int __attribute__((noinline)) recurse(int n)
{
	volatile char frame[64];

	frame[0] = (char)n;
	if (n > 1000000)	/* never: the guard page comes first */
		return 0;
	return recurse(n + 1) + frame[0];
}

/* It says so itself before it recurses: with several CPUs (lab 8) it may
 * run, and overflow, before the thread that created it prints anything. */
static int deep(void *arg)
{
	struct thread *t = current_thread();

	(void)arg;
	printk("stack_guard: thread %d '%s' recurses on its stack 0x%08x-0x%08x\n", t->tid,
	       t->name, t->stack, t->stack + PAGE_SIZE);
	return recurse(0);
}

KTEST(stack_guard)
{
	struct thread *t;

	KEXPECT((t = thread_create("worker", deep, 0)));
	thread_join(t, NULL);
	ktest_fail("the recursion returned");
}

/* ---- lifecycles from many threads at once -------------------------- */

#define RACERS		4
#define RACE_ROUNDS	300

static int leaf(void *arg)
{
	(void)arg;
	return 1;
}

static int short_process(void *arg)
{
	(void)arg;
	return map_user_pages(2) ? 2 : -1;
}

/* Creates and joins threads and processes in a loop, with preemption on,
 * beside three others doing the same. */
static int racer(void *arg)
{
	int sum = 0, v, st, pid;
	struct thread *t;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		if (!(t = thread_create("leaf", leaf, arg)))
			return -1;
		if (thread_join(t, &v) < 0)
			return -2;
		sum += v;
		if (i % 30 == 0) {
			if ((pid = process_create("short", short_process, 0)) < 0)
				return -3;
			if (process_wait(pid, &st) != pid || st != 2)
				return -4;
		}
	}
	return sum;
}

static void race_round(void)
{
	struct thread *t[RACERS];
	int v;

	for (int i = 0; i < RACERS; i++)
		KEXPECT((t[i] = thread_create("racer", racer, (void *)(uintptr_t)i)));
	for (int i = 0; i < RACERS; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		KEXPECT_EQ(v, RACE_ROUNDS);
	}
}

KTEST(lifecycle_stress)
{
	struct page_counts before, after;

	race_round();	/* may keep a kernel page table and a heap arena */
	page_counts(&before);
	race_round();
	page_counts(&after);
	KEXPECT_EQ(malloc_check(), 0);
	printk("lifecycle_stress: %d threads at once created and joined %d threads and %d "
	       "processes each; the heap is consistent\n", RACERS, RACE_ROUNDS, RACE_ROUNDS / 30);
	printk("lifecycle_stress: free physical pages %u -> %u\n", before.phys_free,
	       after.phys_free);
	printk("lifecycle_stress: free kernel virtual pages %u -> %u\n", before.kvirt_free,
	       after.kvirt_free);
	KEXPECT_EQ(after.phys_free, before.phys_free);
	KEXPECT_EQ(after.kvirt_free, before.kvirt_free);
}
