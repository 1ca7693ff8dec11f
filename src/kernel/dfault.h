//@ LAB 7 FILE
/*
 * The double fault (vector 8) through a task gate (lab 7).
 *
 * A kernel stack overflow runs into the guard page below the stack; the
 * CPU then cannot push the page fault's frame on that stack, and a fault
 * while delivering a fault is a double fault. An ordinary interrupt gate
 * would push its frame on the same broken stack: a third fault, and the
 * CPU resets (triple fault). A task gate instead makes the CPU save the
 * interrupted registers in the current TSS and load the double-fault
 * task's own TSS: its own stack, eip, segments and CR3. That task reports
 *
 *   double fault: kernel stack overflow in thread 5 'worker' (esp=..., stack LO-HI)
 *
 * and the faulting thread's backtrace, then panics (it never returns).
 * Lab 8 gives each CPU its own double-fault TSS and stack (struct cpu).
 */
#ifndef STRATA_DFAULT_H
#define STRATA_DFAULT_H

#define DF_STACK_SIZE	(2 * 4096)	/* the double-fault task's stack */

/* Installs the task gate; paging must be set up (its CR3 is the kernel's). */
void dfault_init(void);
//@ LAB 8 BEGIN
struct cpu;
/* An AP's own double-fault task, TSS c->df_tss on the stack at c->df_stack
 * (DF_STACK_SIZE bytes), in its GDT; the task gate (the IDT) is shared. */
void dfault_init_cpu(struct cpu *c);
//@ LAB 8 END

#endif
