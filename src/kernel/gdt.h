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
#define SEG_DFTSS	0x30	/* the double-fault task's TSS (lab 7, dfault.c) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* A 32-bit TSS (Intel SDM vol. 3, 8.2.1). A task switch (the double-fault
 * task gate) saves the interrupted state in the current one. */
struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

void gdt_init(void);
void tss_set_kernel_stack(uint32_t esp0);
/* The TSS the CPU uses (task register). */
struct tss *gdt_tss(void);
/* Puts an available-TSS descriptor for tss at selector sel. */
void gdt_set_tss(uint16_t sel, struct tss *tss);
#endif

#endif
