//@ LAB 7 FILE
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/lock.h"
#include "kernel/monitor.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
//@ LAB 8 BEGIN
#include "kernel/tlb.h"
//@ LAB 8 END
#include "kernel/x86.h"

extern char kernel_end[];
static struct lock *volatile known_head;

static inline uint32_t read_eflags(void)
{
	uint32_t v;

	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

/* Atomically stores v at *p and returns what was there (xchg with a memory
 * operand is locked on x86 without a lock prefix; also a full barrier). */
static inline uint32_t xchg(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("xchgl %0, %1" : "+m"(*p), "+r"(v) : : "memory");
	return v;
}

void irq_push(void)
{
	uint32_t eflags = read_eflags();
	struct cpu *c;

	cli();
	c = mycpu();
	if (c->noff++ == 0)
		c->intena = (eflags & FL_IF) != 0;
}

void irq_pop(void)
{
	struct cpu *c = mycpu();

	if (c->noff < 1)
		panic("irq_pop: not pushed");
	if (--c->noff == 0 && c->intena)
		__asm__ volatile("sti" ::: "memory");
}

void lock_init(struct lock *lk, const char *name, int rank)
{
	struct lock *next = lk->next_known;
	int known = lk->known;

	*lk = (struct lock)LOCK_INIT(name, rank);
	if (known && (uintptr_t)lk < (uintptr_t)kernel_end) {
		lk->next_known = next;	/* already on the known list: stays */
		lk->known = 1;
	}
}

/*
 * The order check (debug build): each CPU keeps the locks it holds, in the
 * order it took them. Interrupts are off while any is held, so only this
 * CPU touches its stack. A lock may be released out of order (waitq_sleep
 * releases the caller's lock under sched_lock).
 */
#if STRATA_LOCK_DEBUG
static struct lock *held[NCPU][LOCK_HELD_MAX];
static int n_held[NCPU];

static void order_check(struct lock *lk)
{
	int id = mycpu()->id, n = n_held[id];

	if (n > 0 && held[id][n - 1]->rank >= lk->rank)
		panic("lock order: taking %s (rank %d) while holding %s (rank %d)",
		      lk->name, lk->rank, held[id][n - 1]->name, held[id][n - 1]->rank);
	if (n == LOCK_HELD_MAX)
		panic("lock_acquire: %s: this CPU already holds %d locks", lk->name, n);
}

static void order_push(struct lock *lk)
{
	int id = mycpu()->id;

	held[id][n_held[id]++] = lk;
}

static void order_pop(struct lock *lk)
{
	int id = mycpu()->id, i = n_held[id];

	while (i-- > 0)
		if (held[id][i] == lk)
			break;
	if (i < 0)
		panic("lock_release: %s is not on this CPU's held stack", lk->name);
	for (; i + 1 < n_held[id]; i++)
		held[id][i] = held[id][i + 1];
	n_held[id]--;
}

struct lock *lock_innermost(void)
{
	struct lock *lk = 0;
	int id;

	irq_push();
	id = mycpu()->id;
	if (n_held[id] > 0)
		lk = held[id][n_held[id] - 1];
	irq_pop();
	return lk;
}
#else
static void order_check(struct lock *lk) { (void)lk; }
static void order_push(struct lock *lk) { (void)lk; }
static void order_pop(struct lock *lk) { (void)lk; }
struct lock *lock_innermost(void) { return 0; }
#endif

/* Puts lk (held: no other CPU changes its fields) on the known list. */
static void remember(struct lock *lk)
{
	struct lock *old;

	lk->known = 1;
	do {
		old = known_head;
		lk->next_known = old;
	} while (!__sync_bool_compare_and_swap(&known_head, old, lk));
}

struct lock *lock_known(struct lock *after)
{
	return after ? after->next_known : known_head;
}

void lock_acquire(struct lock *lk)
{
	irq_push();
	if (lk->holder == mycpu())
		panic("lock_acquire: %s already held by this CPU (taken at 0x%08x)", lk->name,
		      lk->caller);
	order_check(lk);

	//@ LAB 8 BEGIN
	/* Another CPU holds lk: wait until its release stores 0. pause tells
	 * the CPU this is a spin loop (saves power, and on a hyperthread gives
	 * the sibling the pipeline). Reading before exchanging keeps the cache
	 * line shared while waiting. */
	if (xchg(&lk->locked, 1) != 0) {
		do {
			while (lk->locked) {
				__asm__ volatile("pause");
				//@ LAB 8 BEGIN
				tlb_poll();	/* the holder may be waiting for us (tlb.h) */
				//@ LAB 8 END
			}
		} while (xchg(&lk->locked, 1) != 0);
		lk->spins++;	/* ours now: no other CPU writes it */
	}
	//@ LAB 8 STUB
	//@ /* LAB 8 exercise 3: wait for the lock with an atomic exchange, with
	//@    pause and tlb_poll() in the spin (interrupts are off here, so a
	//@    shootdown IPI cannot reach this CPU: tlb_poll serves it), and count
	//@    the acquisitions that had to wait in lk->spins (handouts/lab8-smp.md).
	//@    Until then, a wait without the exchange: two CPUs that see the word
	//@    0 at once both take the lock (lock_counter loses increments). */
	//@ static int warned;
	//@ if (lk->locked && !warned++)
	//@ 	printk("[lock] %s is held by another CPU: waiting without an atomic exchange "
	//@ 	       "(LAB 8 exercise 3, handouts/lab8-smp.md), two CPUs may both take it\n",
	//@ 	       lk->name);
	//@ while (lk->locked)
	//@ 	__asm__ volatile("pause");
	//@ lk->locked = 1;
	//@ LAB 8 END

	lk->holder = mycpu();
	lk->caller = (uint32_t)__builtin_return_address(0);
	lk->acquires++;
	order_push(lk);
	if (!lk->known && (uintptr_t)lk < (uintptr_t)kernel_end)
		remember(lk);
}

void lock_release(struct lock *lk)
{
	irq_push();	/* mycpu() below, even when the caller holds nothing */
	if (lk->holder != mycpu())
		panic("lock_release: %s not held by this CPU (held by %s, taken at 0x%08x)",
		      lk->name, lk->holder ? "another CPU" : "no one", lk->caller);
	order_pop(lk);
	lk->holder = 0;
	lk->caller = 0;
	/* Every store above, and the critical section's, is visible before the
	 * lock is: the exchange is a full barrier. */
	xchg(&lk->locked, 0);
	irq_pop();
	irq_pop();	/* lock_acquire's */
}

int lock_held(struct lock *lk)
{
	int held;

	irq_push();
	held = lk->holder == mycpu();
	irq_pop();
	return held;
}

struct lock *lock_scope_begin(struct lock *lk)
{
	if (lock_held(lk))
		return 0;
	lock_acquire(lk);
	return lk;
}

void lock_scope_end(struct lock **taken)
{
	if (*taken)
		lock_release(*taken);
}

/* The console's owner: the running thread, or the CPU before threads run
 * there, so a thread's line stays whole when it moves to another CPU. */
static const void *console_owner(void)
{
	struct cpu *c = mycpu();

	return c->current ? (const void *)c->current : (const void *)c;
}

void lock_console_setup(void)
{
	void (*poll)(void) = 0;

	//@ LAB 8 BEGIN
	poll = tlb_poll;	/* a CPU waiting for the console still flushes */
	//@ LAB 8 END

	printk_set_owner(console_owner, poll);
}

MONITOR_COMMAND(locks, "the kernel's static locks: rank, acquisitions, how many waited")
{
	(void)argc, (void)argv;
	printk("  %-14s %4s %10s %10s  %s\n", "lock", "rank", "acquires", "waited", "held");
	for (struct lock *lk = lock_known(0); lk; lk = lock_known(lk))
		printk("  %-14s %4d %10u %10u  %s\n", lk->name, lk->rank, lk->acquires,
		       lk->spins, lk->holder ? "yes" : "no");
	return 0;
}
