/* Instructions and registers of the i386 that C cannot express. */
#ifndef STRATA_X86_H
#define STRATA_X86_H

/* Page table / directory entry flags (Intel SDM vol. 3, 4.3). */
#define PTE_PRESENT	0x001
#define PTE_WRITABLE	0x002
#define PTE_USER	0x004
#define PTE_PWT		0x008	/* write-through */
#define PTE_PCD		0x010	/* cache disabled */
#define PTE_ACCESSED	0x020
#define PTE_DIRTY	0x040
#define PTE_PS		0x080
#define PTE_GLOBAL	0x100
#define PTE_FLAGS	0xFFF
#define PTE_ADDR(e)	((e) & ~0xFFFu)

#define CR0_WP		0x00010000
#define CR0_PG		0x80000000
#define CR4_PSE		0x00000010	/* PDEs with PS set map 4 MiB pages */
#define FL_IF		0x00000200

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint32_t read_esp(void) { uint32_t v; __asm__ volatile("mov %%esp, %0" : "=r"(v)); return v; }
static inline void invlpg(uintptr_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline void cli(void) { __asm__ volatile("cli"); }
static inline void hlt(void) { __asm__ volatile("hlt"); }

/* The operand of lgdt and lidt. */
struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt (%0)" : : "r"(d)); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt (%0)" : : "r"(d)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" : : "r"(sel)); }
#endif

#endif
