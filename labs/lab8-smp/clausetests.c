/*
 * Lab 8 tests of two exercise clauses the other tests cannot see:
 * mycpu() still panics with interrupts on (exercise 2), and lk->spins
 * counts exactly the acquisitions that had to wait (exercise 3).
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/lapic.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "kernel/tlb.h"
#include "kernel/x86.h"

#define HOLD_US		300000	/* the holder keeps the lock this long: more
				   than a vCPU's turn under thread=single */
#define WAIT_SPINS	(1u << 26)	/* a wait for the other thread gives up */
#define UNCONTENDED	1000

static void need_two_cpus(void)
{
	int online = 0;

	for (int i = 0; i < ncpu; i++)
		online += cpus[i].online != 0;
	if (online < 2)
		ktest_fail("needs 2 CPUs online, has %d of %d: %s", online, ncpu,
			   *smp_off_reason() ? smp_off_reason() : "the machine has fewer CPUs");
}

/* ---- mycpu() with interrupts on ------------------------------------ */

/*
 * With interrupts on, the scheduler may move the thread to another CPU
 * between mycpu()'s load and its caller's use of the struct: mycpu()
 * panics instead (the check above exercise 2's lookup).
 */
KTEST(mycpu_irq_on)
{
	struct cpu *c;
	int ok;

	need_two_cpus();
	irq_push();
	c = mycpu();
	ok = c->self == c && c->apic_id == lapic_id() && c->online;
	irq_pop();
	if (!ok)
		ktest_fail("mycpu() is not this CPU's struct cpu (LAB 8 exercise 2)");
	printk("mycpu_irq_on: mycpu() with interrupts off is this CPU's struct cpu\n");
	printk("mycpu_irq_on: calling mycpu() with interrupts on\n");
	__asm__ volatile("sti" ::: "memory");
	c = mycpu();
	__asm__ volatile("cli" ::: "memory");
	ktest_fail("mycpu() with interrupts on returned cpus[%d] instead of panicking: keep "
		   "its interrupts-off check (LAB 8 exercise 2, handouts/lab8-smp.md)",
		   c->id);
}

/* ---- lk->spins: one contended acquisition, many uncontended --------- */

static struct lock spins_lock = LOCK_INIT("spins-test", 5);

static struct {
	volatile int ready;	/* the contender runs, interrupts off */
	volatile int go;	/* the test holds the lock: take it */
	volatile int trying;	/* the contender is about to take it */
	int cpu;
	int timed_out;
} ct;

/* Holds its CPU with interrupts off from the start (so the test thread
 * runs on another), then takes the lock the test holds. */
static int contender_main(void *arg)
{
	uint32_t spins = 0;

	(void)arg;
	irq_push();
	ct.cpu = cpu_id();
	__atomic_store_n(&ct.ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&ct.go, __ATOMIC_SEQ_CST)) {
		tlb_poll();
		__asm__ volatile("pause");
		if (++spins == WAIT_SPINS) {
			ct.timed_out = 1;
			irq_pop();
			return 1;
		}
	}
	__atomic_store_n(&ct.trying, 1, __ATOMIC_SEQ_CST);
	lock_acquire(&spins_lock);
	lock_release(&spins_lock);
	irq_pop();
	return 0;
}

KTEST(lock_spins)
{
	uint32_t spins0, acq0, spins = 0, uncontended, contended, acquired;
	struct thread *t;
	int held_cpu;

	need_two_cpus();
	spins0 = spins_lock.spins;
	acq0 = spins_lock.acquires;
	for (int i = 0; i < UNCONTENDED; i++) {
		lock_acquire(&spins_lock);
		lock_release(&spins_lock);
	}
	uncontended = spins_lock.spins - spins0;
	printk("lock_spins: %d acquisitions by one thread, no other CPU near the lock: "
	       "%u waited\n", UNCONTENDED, uncontended);

	if (!(t = thread_create("spins-contender", contender_main, 0)))
		ktest_fail("thread_create: out of memory");
	while (!__atomic_load_n(&ct.ready, __ATOMIC_SEQ_CST))
		thread_yield();		/* it holds its CPU: this thread is elsewhere */
	spins0 = spins_lock.spins;
	acq0 = spins_lock.acquires;
	lock_acquire(&spins_lock);
	held_cpu = cpu_id();
	__atomic_store_n(&ct.go, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&ct.trying, __ATOMIC_SEQ_CST) && ++spins < WAIT_SPINS)
		__asm__ volatile("pause");
	pit_delay_us(HOLD_US);	/* it spins for the lock meanwhile */
	lock_release(&spins_lock);
	if (thread_join(t, 0) < 0)
		ktest_fail("thread_join failed");
	if (ct.timed_out || spins == WAIT_SPINS)
		ktest_fail("the contender thread did not run on another CPU");
	contended = spins_lock.spins - spins0;
	acquired = spins_lock.acquires - acq0;
	printk("lock_spins: held on one CPU while a thread on %s CPU took it: %u of %u "
	       "acquisitions waited\n", ct.cpu != held_cpu ? "another" : "the same", contended,
	       acquired);
	if (uncontended != 0 || contended != 1)
		ktest_fail("lk->spins counts %u waits for %u uncontended acquisitions and %u for "
			   "one that waited: count each acquisition that had to wait once "
			   "(LAB 8 exercise 3, handouts/lab8-smp.md)",
			   uncontended, UNCONTENDED, contended);
}
