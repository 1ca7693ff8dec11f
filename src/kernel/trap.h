/*
 * Interrupts and exceptions. Every vector enters through trapentry.S, which
 * builds a struct trapframe on the kernel stack and calls trap().
 *
 * Vectors: 0-31 CPU exceptions, 32-47 the two PICs (remapped; from lab 8
 * the IOAPIC delivers ISA IRQ n at 32 + n too), 128 system calls (lab 7),
 * 0xEF-0xFF the local APICs (lab 8).
 */
#ifndef STRATA_TRAP_H
#define STRATA_TRAP_H

#include <stdint.h>

#define T_DIVIDE	0
#define T_DEBUG		1
#define T_NMI		2
#define T_BRKPT		3
#define T_DBLFLT	8
#define T_GPFLT		13
#define T_PGFLT		14
#define T_IRQ0		32
#define T_SYSCALL	128
/* Lab 8: the local APICs' vectors (lapic.c); higher vectors have priority. */
#define T_LAPIC_TIMER	0xEF	/* each CPU's timer (smp.c) */
#define T_IPI_TLB	0xF0	/* TLB shootdown (tlb.c) */
#define T_SPURIOUS	0xFF	/* the LAPIC's spurious vector: no EOI */

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PRESENT	0x1	/* 0: page not present, 1: protection violation */
#define PF_WRITE	0x2
#define PF_USER		0x4
#define PF_RSVD		0x8
#define PF_FETCH	0x10

/* The layout trapentry.S pushes; the first fields are the last pushed. */
struct trapframe {
	uint32_t edi, esi, ebp, oesp, ebx, edx, ecx, eax;	/* pushal */
	uint32_t gs, fs, es, ds;
	uint32_t trapno;
	uint32_t err;		/* the CPU's error code, or 0 */
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;	/* only when coming from user mode */
};

void trap_init(void);
/* Loads the IDT trap_init built on the calling CPU (an AP, lab 8). */
void trap_load_idt(void);
void trap(struct trapframe *tf);
const char *trap_name(uint32_t trapno);
const char *trap_mnemonic(uint32_t trapno);

/* Writes the bracketed description of a page-fault error code, e.g.
 * "write kernel not-present", into buf. */
void pf_decode(uint32_t err, char *buf, int size);

/* A panic caused by a trap: the backtrace starts at the faulting eip. */
void panic_trap(struct trapframe *tf, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* A handler for a vector, e.g. the page-fault handler of a later lab. */
typedef void (*trap_handler)(struct trapframe *tf);
void trap_set_handler(uint32_t trapno, trap_handler h);
/* Every trap from user mode goes to h (lab 7, syscall.c), which calls
 * trap_dispatch for what is not its own (interrupts). */
void trap_set_user_handler(trap_handler h);
/* A page fault in the kernel first goes to fixup (lab 7: a fault of a copy
 * to or from user memory, uvm.c): if it returns 1 the fault is handled
 * (the frame may have been changed) and the kernel goes on, silently; 0
 * goes on to the handler or the panic. */
typedef int (*trap_fixup)(struct trapframe *tf);
void trap_set_kernel_fault_fixup(trap_fixup f);
/* What trap does with a trap from the kernel: the handlers, IRQs, panics. */
void trap_dispatch(struct trapframe *tf);
/* Makes vector a task gate to the TSS at selector tss_sel (the double
 * fault, lab 7): the CPU switches to that task's own registers and stack. */
void trap_set_task_gate(uint32_t vector, uint16_t tss_sel);

#endif
