#include <stdint.h>

#include "kernel/gdt.h"
#include "kernel/layout.h"
#include "kernel/x86.h"

static uint64_t gdt[GDT_ENTRIES];
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

static uint32_t segment_base(uint64_t d)
{
	return ((d >> 16) & 0xFFFFFF) | (uint32_t)(d >> 56) << 24;
}

/* The flat segments and the TSS; %gs gets gs_sel. */
static void fill_and_load(uint64_t *g, struct tss *t, uint16_t gs_sel)
{
	struct dtr d = { GDT_ENTRIES * sizeof(uint64_t) - 1, (uint32_t)g };

	g[0] = 0;
	g[SEG_KCODE >> 3] = segment(0, 0xFFFFF, 0x9A, 0xC);
	g[SEG_KDATA >> 3] = segment(0, 0xFFFFF, 0x92, 0xC);
	g[SEG_UCODE >> 3] = segment(0, 0xFFFFF, 0xFA, 0xC);
	g[SEG_UDATA >> 3] = segment(0, 0xFFFFF, 0xF2, 0xC);
	g[SEG_TSS >> 3] = segment((uint32_t)t, sizeof(*t) - 1, 0x89, 0x0);

	t->ss0 = SEG_KDATA;
	t->esp0 = (uint32_t)boot_stack_top;
	t->iomap_base = sizeof(*t);

	lgdt(&d);
	__asm__ volatile(
		"ljmp %0, $1f\n"
		"1:\n"
		"mov %1, %%ax\n"
		"mov %%ax, %%ds\n"
		"mov %%ax, %%es\n"
		"mov %%ax, %%fs\n"
		"mov %%ax, %%ss\n"
		"mov %2, %%ax\n"
		"mov %%ax, %%gs\n"
		: : "i"(SEG_KCODE), "i"(SEG_KDATA), "m"(gs_sel) : "eax", "memory");
	ltr(SEG_TSS);
}

void gdt_init(void)
{
	fill_and_load(gdt, &tss, SEG_KDATA);
}

//@ LAB 8 BEGIN
void gdt_install(uint64_t *g, struct tss *t, uint32_t kcpu_base, uint32_t kcpu_size)
{
	g[SEG_KCPU >> 3] = segment(kcpu_base, kcpu_size - 1, 0x92, 0x4);
	fill_and_load(g, t, SEG_KCPU);
}
//@ LAB 8 END

/* The GDT the CPU uses (GDT register). */
static uint64_t *current_gdt(void)
{
	struct dtr d;

	__asm__ volatile("sgdt %0" : "=m"(d));
	return (uint64_t *)d.base;
}

struct tss *gdt_tss_at(uint16_t sel)
{
	return (struct tss *)segment_base(current_gdt()[sel >> 3]);
}

struct tss *gdt_tss(void)
{
	uint16_t sel;

	__asm__ volatile("str %0" : "=r"(sel));
	return gdt_tss_at(sel);
}

void tss_set_kernel_stack(uint32_t esp0)
{
	gdt_tss()->esp0 = esp0;
}

void gdt_set_tss(uint16_t sel, struct tss *t)
{
	current_gdt()[sel >> 3] = segment((uint32_t)t, sizeof(*t) - 1, 0x89, 0x0);
}
