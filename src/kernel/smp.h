//@ LAB 8 FILE
/*
 * SMP bring-up (lab 8): finds the CPUs (acpi.h), sets up the boot CPU's
 * LAPIC and its timer (calibrated against the PIT), the IOAPIC (COM1), and
 * starts every other CPU through the trampoline (trampoline.S). Each AP
 * gets its own GDT, TSS, %gs (cpu.h), double-fault task, a 1-page kernel
 * stack with a guard page below it (its idle thread's), its LAPIC timer,
 * and runs the scheduler. Boot lines:
 *
 *   [smp] cpu 1: apic 1                      one per CPU found
 *   [smp] cpu 1 (apic 1) started             one per CPU that came up
 *   [smp] 4 CPUs online
 *
 * No usable table: one line saying so, and the boot CPU runs alone (with
 * the PIT as its timer).
 */
#ifndef STRATA_SMP_H
#define STRATA_SMP_H

#define SMP_START_TIMEOUT_MS	1000	/* an AP that takes longer is left off */

/* After process_init (the boot CPU's scheduler), with interrupts off. */
void smp_init(void);
/* Why a CPU the tables list is not online, naming the exercise when it
 * is one's ("" when every CPU started): for the tests' failure messages. */
const char *smp_off_reason(void);

#endif
