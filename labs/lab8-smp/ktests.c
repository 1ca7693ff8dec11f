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
		KEXPECT(cpus[i].online);
		for (int j = 0; j < i; j++)
			KEXPECT(cpus[j].apic_id != cpus[i].apic_id);
		n++;
		len += snprintf(ids + len, sizeof(ids) - len, " %d", cpus[i].apic_id);
	}
	printk("smp_boot: %d CPU%s online, APIC IDs%s\n", n, n == 1 ? "" : "s", ids);
	printk("smp_boot: the test runs on CPU 0, the boot CPU\n");
}
