/*
 * Lab 8 bring-up tests (smp-boot): every CPU the firmware's tables list
 * comes up, on every topology lab.json boots (QEMU's default of one socket
 * of N cores, N sockets, maxcpus above the CPUs present, non-contiguous
 * APIC IDs, single-threaded TCG). The boot lines themselves are in the
 * traces; the test checks the state they describe and prints one summary.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/lapic.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/smp.h"
#include "lib/fmt.h"

/* Every CPU in cpus[] is online, was started exactly once (the boot CPU:
 * never), has its own struct through %gs (checked at its start) and a
 * distinct APIC ID, and its LAPIC timer ticks: over 10 ticks of the clock
 * (the boot CPU's timer) every CPU counts at least 5 of its own. */
static void check_ticks(void)
{
	uint32_t before[NCPU];
	int slow = 0;

	for (int i = 0; i < ncpu; i++)
		before[i] = cpus[i].ticks;
	sleep_ticks(10);
	for (int i = 0; i < ncpu; i++) {
		uint32_t d = cpus[i].ticks - before[i];

		if (d < 5) {
			printk("smp_online: cpu %d counted %u ticks of its timer in 10\n", i, d);
			slow++;
		}
	}
	KEXPECT_EQ(slow, 0);
	printk("smp_online: every CPU's timer ticks\n");
}

KTEST(smp_online)
{
	char ids[4 * NCPU + 1] = "";
	int n = 0, len = 0;

	KEXPECT(lapic_present());
	for (int i = 0; i < ncpu; i++) {
		struct cpu *c = &cpus[i];

		if (!c->online)
			ktest_fail("cpu %d (apic %d) is not online: %s", i, c->apic_id,
				   smp_off_reason());
		KEXPECT_EQ(c->id, i);
		KEXPECT_EQ(c->starts, i == 0 ? 0 : 1);
		KEXPECT(c->self == c);
		for (int j = 0; j < i; j++)
			KEXPECT(cpus[j].apic_id != c->apic_id);
		len += snprintf(ids + len, sizeof(ids) - len, " %d", c->apic_id);
		n += c->online;
	}
	printk("smp_online: %d of %d CPUs online, APIC IDs%s, each AP started once\n", n, ncpu,
	       ids);
	check_ticks();
}
