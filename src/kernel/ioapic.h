//@ LAB 8 FILE
/*
 * The I/O APIC (lab 8; Intel 82093AA datasheet). It takes the devices'
 * interrupt lines (global system interrupts, GSIs, from its base) and
 * sends each, as a message, to a CPU's LAPIC at the vector its
 * redirection entry names. Every entry starts masked; the kernel routes
 * the lines it uses (smp.c: COM1's).
 */
#ifndef STRATA_IOAPIC_H
#define STRATA_IOAPIC_H

#include <stdint.h>

/* Uses the registers mapped at mmio; masks every entry. Returns the
 * number of inputs. */
/* Where the registers are mapped (NULL before ioapic_init): for tests. */
volatile void *ioapic_regs(void);
int ioapic_init(volatile void *mmio, uint32_t gsi_base);
/* Sends gsi to vector at the CPU with APIC ID dest, fixed delivery;
 * flags are the MPS INTI flags of an override (0: ISA, edge, active high).
 * -1 if gsi is not one of its inputs. */
int ioapic_route(uint32_t gsi, int vector, int dest, uint16_t flags);

#endif
