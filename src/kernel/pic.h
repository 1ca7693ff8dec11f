/*
 * The two 8259A programmable interrupt controllers (master and slave,
 * cascaded on the master's line 2): IRQ lines 0-15 of the PC.
 *
 * pic_init remaps them to vectors base .. base + 15 (the CPU's exceptions
 * own 0-31) and masks every line; a driver unmasks the line it serves with
 * pic_enable. An interrupt handler acknowledges its IRQ with pic_eoi before
 * returning, or the PIC never delivers that line (or any lower-priority
 * one) again. Lab 8 adds the local APIC and the I/O APIC beside this file.
 */
#ifndef STRATA_PIC_H
#define STRATA_PIC_H

#include <stdint.h>

#define PIC_IRQS	16

/* Remaps both PICs to vectors base .. base + 15, all lines masked. */
void pic_init(uint8_t base);
/* Lets IRQ line irq (0-15) through (and the cascade, for 8-15). */
void pic_enable(unsigned irq);
/* Masks IRQ line irq again (the cascade stays open). */
void pic_disable(unsigned irq);
/* End of interrupt for IRQ line irq: to the slave too for 8-15. */
void pic_eoi(unsigned irq);

#endif
