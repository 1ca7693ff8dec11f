/*
 * The facts the kernel shares with Python, shell and Make (the grader, the
 * GDB helpers, tools/run-qemu, labgen's validate): every one is defined in
 * a kernel header and only named here. tools/facts/mkfacts.py compiles this
 * file with the kernel's flags to assembly (-S, never linked) and reads the
 * values back from the strings FACT and FIELD leave in it, so any integer
 * constant expression works, sizeof and offsetof included; it writes
 * build/strata_facts.py. A header a lab branch does not have yet is skipped
 * (__has_include), and its facts are absent from the module.
 *
 * Adding a fact: name it here, next to its header; the Python side reads
 * it as strata_facts.NAME. tools/facts/test_facts.py checks the module
 * against these headers.
 */
#include <stddef.h>

#include "kernel/layout.h"
#include "kernel/panic.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
#if __has_include("mm/buddy.h")		/* lab 2 on */
#include "mm/buddy.h"
#define HAVE_BUDDY 1
#endif
#if __has_include("mm/malloc_class.h")	/* lab 6 on; includes malloc_chunk.h */
#include "mm/malloc_class.h"
#define HAVE_MALLOC 1
#endif

/* "@@fact NAME VALUE UNSIGNED C-SPELLING": UNSIGNED is 1 when the value's
 * C type is unsigned (the value is printed as a signed 32-bit number); the
 * C spelling is the expression as written here (test_facts.py checks it).
 * Stringified before expansion: the # are in FACT and VALUE themselves. */
#define FACT(name, value)	FACT_STR(#name, #value, value)
#define VALUE(name)		FACT_STR(#name, #name, name)
#define FACT_STR(str, spelling, value)					\
	__asm__ volatile(".ascii \"\\n@@fact " str " %c0 %c1 " spelling "\\n\"" \
			 :: "i"((long)(value)),				\
			    "i"((__typeof__(value))-1 > 0))
/* "@@field STRUCT FIELD OFFSET SIZE" */
#define FIELD(s, f)							\
	__asm__ volatile(".ascii \"\\n@@field " #s " " #f " %c0 %c1\\n\"" \
			 :: "i"(offsetof(struct s, f)),			\
			    "i"(sizeof(((struct s *)0)->f)))
#define SIZE(NAME, s)	FACT(SIZEOF_##NAME, sizeof(struct s))

/* isa-debug-exit: QEMU exits with status (value << 1) | 1 (panic.h). */
#define QEMU_STATUS(value)	(((value) << 1) | 1)

void facts(void);

void facts(void)
{
	/* panic.h: how the kernel leaves QEMU */
	VALUE(DEBUG_EXIT_PORT);
	VALUE(EXIT_PASS);
	VALUE(EXIT_FAIL);
	VALUE(EXIT_PANIC);
	FACT(STATUS_PASS, QEMU_STATUS(EXIT_PASS));
	FACT(STATUS_FAIL, QEMU_STATUS(EXIT_FAIL));
	FACT(STATUS_PANIC, QEMU_STATUS(EXIT_PANIC));
	VALUE(EXIT_LOADER);		/* GRUB's, from tools/grub.cfg */
	FACT(STATUS_LOADER, QEMU_STATUS(EXIT_LOADER));

	/* layout.h: the address space */
	VALUE(PAGE_SIZE);
	VALUE(PAGE_SHIFT);
	VALUE(KERNBASE);
	VALUE(KERNEL_PHYS);
	VALUE(KERNEL_BOOT_MAPPED);
	VALUE(KVIRT_START);
	VALUE(KVIRT_END);
	VALUE(RECURSIVE_BASE);
	VALUE(RECURSIVE_SLOT);
	VALUE(USER_START);
	VALUE(USER_END);
	VALUE(MEMORY_MIN_MIB);

	/* x86.h: page-table entry bits, control registers */
	VALUE(PTE_PRESENT);
	VALUE(PTE_WRITABLE);
	VALUE(PTE_USER);
	VALUE(PTE_PWT);
	VALUE(PTE_PCD);
	VALUE(PTE_ACCESSED);
	VALUE(PTE_DIRTY);
	VALUE(PTE_PS);
	VALUE(PTE_GLOBAL);
	VALUE(PTE_FLAGS);
	VALUE(CR0_WP);
	VALUE(CR0_PG);
	VALUE(CR4_PSE);
	VALUE(FL_IF);

	/* trap.h: vectors, page-fault error bits, the trap frame */
	VALUE(T_PGFLT);
	VALUE(T_IRQ0);
	VALUE(T_SYSCALL);
	VALUE(PF_PRESENT);
	VALUE(PF_WRITE);
	VALUE(PF_USER);
	VALUE(PF_RSVD);
	VALUE(PF_FETCH);
	FIELD(trapframe, edi);
	FIELD(trapframe, esi);
	FIELD(trapframe, ebp);
	FIELD(trapframe, oesp);
	FIELD(trapframe, ebx);
	FIELD(trapframe, edx);
	FIELD(trapframe, ecx);
	FIELD(trapframe, eax);
	FIELD(trapframe, gs);
	FIELD(trapframe, fs);
	FIELD(trapframe, es);
	FIELD(trapframe, ds);
	FIELD(trapframe, trapno);
	FIELD(trapframe, err);
	FIELD(trapframe, eip);
	FIELD(trapframe, cs);
	FIELD(trapframe, eflags);
	FIELD(trapframe, esp);
	FIELD(trapframe, ss);
	SIZE(TRAPFRAME, trapframe);

#ifdef HAVE_BUDDY
	/* buddy.h */
	VALUE(BUDDY_MAX_ORDER);
#endif
#ifdef HAVE_MALLOC
	/* malloc.h, malloc_chunk.h, malloc_class.h: the heap's layout, for
	 * strata-heap (these are #defines: the debug information lacks them) */
	VALUE(MALLOC_ALIGN);
	VALUE(MALLOC_CHUNK_OFFSET);
	FACT(MALLOC_TAG, TAG);
	FACT(MALLOC_MIN_CHUNK, MIN_CHUNK);
	FACT(MALLOC_F_FREE, F_FREE);
	FACT(MALLOC_F_FENCE, F_FENCE);
	FACT(MALLOC_F_LARGE, F_LARGE);
	FACT(MALLOC_F_MASK, F_MASK);
	FACT(MALLOC_CANARY_SEED, CANARY_SEED);
	FACT(MALLOC_ARENA_MAGIC, ARENA_MAGIC);
	FACT(MALLOC_LARGE_MAGIC, LARGE_MAGIC);
	FACT(MALLOC_EXACT_MAX, EXACT_MAX);
	FACT(MALLOC_EXACT_CLASSES, EXACT_CLASSES);
	FIELD(arena, magic);
	FIELD(arena, large);
	FIELD(arena, pages);
	FIELD(arena, next);
	FIELD(arena, prev);
	SIZE(ARENA, arena);
#endif
}
