//@ LAB 8 FILE
/*
 * The local APIC (lab 8; Intel SDM vol. 3, chapter 10). Each CPU has one,
 * at the same physical address (LAPIC_PHYS, or the MADT's), seen by each
 * CPU as its own. It takes the CPU's interrupts (EOI), sends
 * inter-processor interrupts (the ICR) and has a timer.
 *
 * Before lapic_init (one CPU, no APIC found) every function here is safe:
 * lapic_id() is 0, lapic_eoi and the IPIs do nothing.
 */
#ifndef STRATA_LAPIC_H
#define STRATA_LAPIC_H

#include <stdint.h>

#define LAPIC_PHYS	0xFEE00000	/* the architectural default */

/* Uses the registers mapped at mmio (the page of the LAPIC's physical
 * address; smp.c maps it) and enables the calling CPU's LAPIC. */
void lapic_init(volatile void *mmio);
/* Enables the calling CPU's LAPIC (an AP, once lapic_init ran): spurious
 * vector T_SPURIOUS, LINT0/LINT1 masked (the 8259 is not used), no
 * pending error. */
void lapic_enable(void);
/* Whether lapic_init ran. */
int lapic_present(void);
/* The end of an interrupt the LAPIC delivered (not the spurious one). */
void lapic_eoi(void);
/* Where the registers are mapped (NULL before lapic_init): for tests. */
volatile void *lapic_regs(void);
/* The calling CPU's APIC ID (interrupts off, or a value that may be stale). */
int lapic_id(void);
/* A fixed IPI to vector at the CPU whose APIC ID is apic_id. */
void lapic_ipi(int apic_id, int vector);
/* A fixed IPI to vector at every other CPU that is online (cpus[].online);
 * nothing with one CPU. */
void lapic_ipi_others(int vector);
/* The start-up IPIs (smp.c): INIT (assert, then deassert) and STARTUP
 * with the page number of the start code (below 1 MiB). Each returns once
 * the LAPIC has sent it (the delivery status is idle), -1 if it never did. */
int lapic_ipi_init(int apic_id);
int lapic_ipi_startup(int apic_id, uint32_t page_phys);

/* The timer. lapic_timer_count starts a one-shot count from 0xFFFFFFFF
 * (divide by 16) and lapic_timer_elapsed reads how far it got: the boot CPU
 * measures a PIT interval with them. lapic_timer_start makes the timer
 * periodic at vector T_LAPIC_TIMER every initial_count (divided) cycles. */
void lapic_timer_count(void);
uint32_t lapic_timer_elapsed(void);
void lapic_timer_start(uint32_t initial_count);

#endif
