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
#include "kernel/sched.h"
#include "kernel/x86.h"

/* ---- every CPU online ---------------------------------------------- */

KTEST(smp_boot)
{
	int id;

	irq_push();
	id = mycpu()->id;
	irq_pop();
	KEXPECT_EQ(id, 0);
	printk("smp_boot: the test runs on CPU 0, the boot CPU\n");
}
