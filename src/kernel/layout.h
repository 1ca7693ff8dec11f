/*
 * The address space (design.md, "Address space"). Usable from C and assembly.
 *
 *   0xFFFFF000  the page directory itself (recursive slot, last PDE)
 *   0xFFC00000  all page tables of the active directory (recursive window)
 *   0xC0800000  kernel virtual ranges (the kernel vpallocator)
 *   0xC0100000  kernel binary, then boot stack and boot data; the first
 *               KERNEL_BOOT_MAPPED bytes of physical memory appear at KERNBASE
 *   0xC0000000  KERNBASE: user space ends here
 *   0x80000000  user virtual ranges (each process's vpallocator, lab 7)
 *   0x00001000  user space; page 0 is never mapped
 */
#ifndef STRATA_LAYOUT_H
#define STRATA_LAYOUT_H

#define PAGE_SIZE		4096
#define PAGE_SHIFT		12
#ifndef __ASSEMBLER__
/* x rounded down / up to a page boundary, in x's own type. */
#define PAGE_ROUNDDOWN(x)	((x) & ~(__typeof__(x))(PAGE_SIZE - 1))
#define PAGE_ROUNDUP(x)		PAGE_ROUNDDOWN((x) + PAGE_SIZE - 1)
#endif
#define KERNBASE		0xC0000000
#define KERNEL_PHYS		0x00100000
#define KERNEL_BOOT_MAPPED	0x00800000	/* mapped at KERNBASE by start.S */
#define KVIRT_START		0xC0800000
#define KVIRT_END		0xFFC00000
#define RECURSIVE_BASE		0xFFC00000
#define RECURSIVE_SLOT		1023
#define USER_START		0x00001000
#define USER_END		KERNBASE
#define UVIRT_START		0x80000000	/* a process's user virtual ranges (lab 7) */
#define UVIRT_END		KERNBASE
#define TRAMPOLINE_PHYS		0x00008000	/* the SMP start-up page (lab 8) */
#define BOOT_STACK_SIZE		16384
/* The least memory Strata supports (QEMU -m 4M), both boot paths; the boot
 * matrix (make test-matrix) starts here, the grader refuses less, and the
 * kernel says so and stops if it finds less (kernel_main). */
#define MEMORY_MIN_MIB		4

#define PDE_INDEX(va)		(((va) >> 22) & 0x3FF)
#define PTE_INDEX(va)		(((va) >> 12) & 0x3FF)

#ifdef __ASSEMBLER__
#define V2P(a)			((a) - KERNBASE)
#else
#define V2P(a)			((uintptr_t)(a) - KERNBASE)
#define P2V(a)			((void *)((uintptr_t)(a) + KERNBASE))
#endif

#endif
