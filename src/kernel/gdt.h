/*
 * Segments. Flat 4 GiB code and data segments for ring 0 and ring 3, and
 * one TSS whose esp0 is the kernel stack the CPU switches to when an
 * interrupt arrives from user mode (lab 7). Lab 8 gives each CPU a GDT and
 * TSS of its own (struct cpu) and a segment SEG_KCPU, loaded in %gs in the
 * kernel, whose base is that CPU's struct cpu (mycpu(), cpu.c).
 *
 * The TSS functions below find "the TSS the CPU uses" through the task
 * register and the GDT register (str, sgdt), so they act on the calling
 * CPU's own TSS whichever GDT it runs on.
 */
#ifndef STRATA_GDT_H
#define STRATA_GDT_H

#define SEG_KCODE	0x08
#define SEG_KDATA	0x10
#define SEG_UCODE	0x1B	/* 0x18 | RPL 3 */
#define SEG_UDATA	0x23	/* 0x20 | RPL 3 */
#define SEG_TSS		0x28
#define SEG_DFTSS	0x30	/* the double-fault task's TSS (lab 7, dfault.c) */
#define SEG_KCPU	0x38	/* %gs in the kernel: this CPU's struct cpu (lab 8) */
#define GDT_ENTRIES	8

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
/* The TSS whose descriptor is at selector sel of the CPU's GDT. */
struct tss *gdt_tss_at(uint16_t sel);
/* Puts an available-TSS descriptor for tss at selector sel of the CPU's GDT. */
void gdt_set_tss(uint16_t sel, struct tss *tss);
//@ LAB 8 BEGIN
/* Lab 8: fills gdt (GDT_ENTRIES entries) with the flat segments, tss at
 * SEG_TSS and SEG_KCPU = [kcpu_base, kcpu_base + kcpu_size), and loads it
 * on the calling CPU: segment registers (%gs = SEG_KCPU) and task register. */
void gdt_install(uint64_t *gdt, struct tss *tss, uint32_t kcpu_base, uint32_t kcpu_size);
//@ LAB 8 END
#endif

#endif
