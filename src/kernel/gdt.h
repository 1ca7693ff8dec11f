/*
 * Segments. Flat 4 GiB code and data segments for ring 0 and ring 3, and
 * one TSS whose esp0 is the kernel stack the CPU switches to when an
 * interrupt arrives from user mode (lab 7; one TSS per CPU in lab 8).
 */
#ifndef STRATA_GDT_H
#define STRATA_GDT_H

#define SEG_KCODE	0x08
#define SEG_KDATA	0x10
#define SEG_UCODE	0x1B	/* 0x18 | RPL 3 */
#define SEG_UDATA	0x23	/* 0x20 | RPL 3 */
#define SEG_TSS		0x28

#ifndef __ASSEMBLER__
#include <stdint.h>

void gdt_init(void);
void tss_set_kernel_stack(uint32_t esp0);
#endif

#endif
