/*
 * Lab 8 in-kernel tests, part 1: bring-up on every topology, per-CPU
 * timers, scheduling on every CPU (locktests.c and tlbtests.c hold the
 * lock and shootdown tests). Each test gathers what the CPUs did in
 * per-CPU counters and prints a summary after the workers joined, so a
 * trace never depends on how the CPUs interleaved.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/syscall.h"
#include "kernel/thread.h"
#include "kernel/x86.h"

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

/* ---- every CPU online ---------------------------------------------- */

/*
 * After smp_init: cpus[0 .. ncpu) are the CPUs in use, each online, with
 * its own APIC ID (the MADT's, not necessarily contiguous: -smp
 * 6,sockets=2,cores=3 gives 0 1 2 4 5 6). The trace gives the count and
 * the IDs for its topology, and checks the boot lines: one "started"
 * line per CPU.
 */
KTEST(smp_boot)
{
	char ids[NCPU * 4 + 1];
	int n = 0, len = 0;

	irq_push();
	KEXPECT_EQ(cpu_id(), 0);
	KEXPECT(mycpu() == &cpus[0]);
	irq_pop();
	KEXPECT(ncpu >= 1 && ncpu <= NCPU);
	for (int i = 0; i < ncpu; i++) {
		KEXPECT_EQ(cpus[i].id, i);
		if (!cpus[i].online)
			ktest_fail("cpu %d (apic %d) is not online: %s", i, cpus[i].apic_id,
				   smp_off_reason());
		for (int j = 0; j < i; j++)
			KEXPECT(cpus[j].apic_id != cpus[i].apic_id);
		n++;
		len += snprintf(ids + len, sizeof(ids) - len, " %d", cpus[i].apic_id);
	}
	printk("smp_boot: %d CPU%s online, APIC IDs%s\n", n, n == 1 ? "" : "s", ids);
	printk("smp_boot: the test runs on CPU 0, the boot CPU\n");
}

/* ---- timer ticks on every CPU -------------------------------------- */

#define WATCHDOG_TICKS	500	/* 5 s of the boot CPU's clock */

/* Every CPU's LAPIC timer ticks: each one's count grows by at least 2
 * while the boot CPU's clock runs (at most WATCHDOG_TICKS). */
KTEST(smp_ticks)
{
	uint32_t start[NCPU], t0 = pit_ticks();
	int late = -1;

	for (int i = 0; i < ncpu; i++)
		start[i] = cpus[i].ticks;
	for (;;) {
		late = -1;
		for (int i = 0; i < ncpu && late < 0; i++)
			if (cpus[i].ticks - start[i] < 2)
				late = i;
		if (late < 0 || pit_ticks() - t0 > WATCHDOG_TICKS)
			break;
		sleep_ticks(1);
	}
	if (late >= 0)
		ktest_fail("cpu %d's timer ticked %u times in %u ticks of cpu 0's clock", late,
			   cpus[late].ticks - start[late], pit_ticks() - t0);
	printk("smp_ticks: the timer ticked on each of the %d CPUs\n", ncpu);
}

/* ---- scheduling on every CPU --------------------------------------- */

#define WORKERS		20
#define WORK_MIN	200	/* rounds each worker does at least */

struct worker {
	volatile int inside;	/* CPUs running it right now: never more than 1 */
	volatile uint32_t cpus_seen;	/* bit k: it ran on CPU k */
	volatile int overlaps;
};

static struct worker workers[WORKERS];
static volatile uint32_t all_seen;	/* union of the workers' cpus_seen */

static uint32_t all_cpus_mask(void)
{
	return ncpu >= 32 ? 0xffffffffu : (1u << ncpu) - 1;
}

/* Runs WORK_MIN rounds, and on until every CPU has run some worker (or
 * the watchdog): each round notes the CPU it runs on and checks that no
 * other CPU runs this thread at the same moment. */
static int work(void *arg)
{
	struct worker *w = arg;
	uint32_t t0 = pit_ticks();
	int rounds = 0;

	while (rounds < WORK_MIN ||
	       ((all_seen & all_cpus_mask()) != all_cpus_mask() &&
		pit_ticks() - t0 < WATCHDOG_TICKS)) {
		int id;

		if (__sync_fetch_and_add(&w->inside, 1) != 0)
			w->overlaps++;
		irq_push();
		id = cpu_id();
		irq_pop();
		__sync_fetch_and_or(&w->cpus_seen, 1u << id);
		__sync_fetch_and_or(&all_seen, 1u << id);
		spin(20000);
		__sync_fetch_and_sub(&w->inside, 1);
		rounds++;
	}
	return (int)(w - workers) + 1;
}

KTEST(smp_sched)
{
	struct thread *t[WORKERS];
	int v, sum = 0, overlaps = 0, moved = 0;

	for (int i = 0; i < WORKERS; i++)
		KEXPECT((t[i] = thread_create("worker", work, &workers[i])));
	for (int i = 0; i < WORKERS; i++) {
		KEXPECT_EQ(thread_join(t[i], &v), 0);
		sum += v;
	}
	printk("smp_sched: %d workers on %d CPUs finished, exit values sum to %d\n", WORKERS,
	       ncpu, sum);
	if ((all_seen & all_cpus_mask()) != all_cpus_mask())
		ktest_fail("the CPUs that ran workers are 0x%x, expected 0x%x", all_seen,
			   all_cpus_mask());
	printk("smp_sched: every CPU ran workers\n");
	for (int i = 0; i < WORKERS; i++) {
		overlaps += workers[i].overlaps;
		moved += (workers[i].cpus_seen & (workers[i].cpus_seen - 1)) != 0;
	}
	if (overlaps)
		ktest_fail("%d rounds found their worker already running on another CPU", overlaps);
	printk("smp_sched: no worker ran on two CPUs at once\n");
	(void)moved;	/* how many moved between CPUs depends on the interleaving */
}

/* ---- a process killed while its threads run on other CPUs ---------- */

/* The CPUs (bit k for CPU k) running a thread of p right now. */
static uint32_t cpus_running(struct process *p)
{
	uint32_t mask = 0;

	for (int i = 0; i < ncpu; i++) {
		struct thread *t = cpus[i].current;	/* one read */

		if (t && t->process == p)
			mask |= 1u << i;
	}
	return mask;
}

KTEST(smp_kill)
{
	const char *argv[] = { "threads", "spinners" };
	struct page_counts before, after;
	struct process *p;
	uint32_t t0, mask = 0;
	int pid, st = 0, warm;

	const char *hello[] = { "hello", "warm-up" };
	KEXPECT((warm = spawn("hello", 2, hello)) > 0);	/* first-process pages kept by design */
	KEXPECT_EQ(process_wait(warm, &st), warm);
	page_counts(&before);
	KEXPECT((pid = spawn("threads", 2, argv)) > 0);
	KEXPECT((p = process_find(pid)));
	/* Wait (on this CPU, sleeping) until its threads run on 2 other CPUs. */
	t0 = pit_ticks();
	while (pit_ticks() - t0 < WATCHDOG_TICKS) {
		mask = cpus_running(p) & ~1u;
		if (mask & (mask - 1))
			break;
		sleep_ticks(1);
	}
	if (!(mask & (mask - 1)))
		ktest_fail("the spinners never ran on two other CPUs at once (CPUs 0x%x)", mask);
	printk("smp_kill: the process's threads run on two or more other CPUs\n");
	process_kill(p, -1);
	KEXPECT_EQ(process_wait(pid, &st), pid);
	KEXPECT_EQ(st, -1);
	printk("smp_kill: killed, wait gives -1\n");
	for (int i = 0; i < ncpu; i++)
		KEXPECT(!cpus[i].current || cpus[i].current->process != p);
	page_counts(&after);
	if (before.phys_free != after.phys_free || before.kvirt_free != after.kvirt_free)
		ktest_fail("free pages %u/%u before, %u/%u after", before.phys_free,
			   before.kvirt_free, after.phys_free, after.kvirt_free);
	printk("smp_kill: no CPU runs its threads, every page came back\n");
}
