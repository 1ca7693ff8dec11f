#include <stdint.h>

#include "kernel/gdt.h"
#include "kernel/layout.h"
#include "kernel/x86.h"

static uint64_t gdt[7];
static struct tss tss;
extern char boot_stack_top[];

/* access: P DPL S type; flags: G D/B (Intel SDM vol. 3, 3.4.5). */
static uint64_t segment(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint64_t d = limit & 0xFFFF;

	d |= (uint64_t)(base & 0xFFFFFF) << 16;
	d |= (uint64_t)access << 40;
	d |= (uint64_t)((limit >> 16) & 0xF) << 48;
	d |= (uint64_t)(flags & 0xF) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

void gdt_init(void)
{
	struct dtr d = { sizeof(gdt) - 1, (uint32_t)gdt };

	gdt[0] = 0;
	gdt[SEG_KCODE >> 3] = segment(0, 0xFFFFF, 0x9A, 0xC);
	gdt[SEG_KDATA >> 3] = segment(0, 0xFFFFF, 0x92, 0xC);
	gdt[SEG_UCODE >> 3] = segment(0, 0xFFFFF, 0xFA, 0xC);
	gdt[SEG_UDATA >> 3] = segment(0, 0xFFFFF, 0xF2, 0xC);
	gdt[SEG_TSS >> 3] = segment((uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0);

	tss.ss0 = SEG_KDATA;
	tss.esp0 = (uint32_t)boot_stack_top;
	tss.iomap_base = sizeof(tss);

	lgdt(&d);
	__asm__ volatile(
		"ljmp %0, $1f\n"
		"1:\n"
		"mov %1, %%ax\n"
		"mov %%ax, %%ds\n"
		"mov %%ax, %%es\n"
		"mov %%ax, %%fs\n"
		"mov %%ax, %%gs\n"
		"mov %%ax, %%ss\n"
		: : "i"(SEG_KCODE), "i"(SEG_KDATA) : "eax", "memory");
	ltr(SEG_TSS);
}

void tss_set_kernel_stack(uint32_t esp0)
{
	tss.esp0 = esp0;
}

struct tss *gdt_tss(void)
{
	return &tss;
}

void gdt_set_tss(uint16_t sel, struct tss *t)
{
	gdt[sel >> 3] = segment((uint32_t)t, sizeof(*t) - 1, 0x89, 0x0);
}
