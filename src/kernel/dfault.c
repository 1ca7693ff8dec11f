//@ LAB 7 FILE
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/dfault.h"
#include "kernel/gdt.h"
#include "kernel/layout.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/thread.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

static struct tss df_tss;
static uint8_t df_stack[DF_STACK_SIZE] __attribute__((aligned(16)));

/* addr is in t's guard page, or below it by less than a page more (a big
 * frame can jump over the guard's first bytes). */
static int near_guard(struct thread *t, uint32_t addr)
{
	return addr < t->stack && addr >= t->stack - 2 * PAGE_SIZE;
}

/*
 * The double-fault task. The CPU entered it with a task switch: the
 * interrupted thread's registers are in the TSS it left, whose selector
 * the CPU wrote in this task's TSS (gdt_tss() now) as its link; CR2 says
 * which address faulted, interrupts are off. Never returns.
 */
static void __attribute__((noreturn)) double_fault_task(void)
{
	struct tss *was = gdt_tss_at(gdt_tss()->link);
	struct thread *t = mycpu()->current;
	uint32_t lo = t->stack, hi = t->stack + t->stack_pages * PAGE_SIZE;
	uint32_t cr2 = read_cr2();
	struct trapframe tf = { 0 };

	if (near_guard(t, was->esp) || near_guard(t, cr2))
		printk("double fault: kernel stack overflow in thread %d '%s' "
		       "(esp=0x%08x, stack 0x%08x-0x%08x)\n", t->tid, t->name, was->esp, lo, hi);
	else
		printk("double fault: in thread %d '%s' (eip=0x%08x, esp=0x%08x, cr2=0x%08x, "
		       "stack 0x%08x-0x%08x)\n", t->tid, t->name, was->eip, was->esp, cr2, lo, hi);
	tf.trapno = T_DBLFLT;
	tf.eip = was->eip;
	tf.esp = was->esp;
	/* The backtrace follows %ebp only while it stays on the thread's stack. */
	tf.ebp = (was->ebp >= lo && was->ebp < hi) ? was->ebp : 0;
	panic_trap(&tf, "double fault in thread %d '%s'", t->tid, t->name);
}

/* A double-fault task on the stack below stack_top, in the calling CPU's
 * GDT at SEG_DFTSS. */
static void df_setup(struct tss *t, uint32_t stack_top)
{
	t->esp = t->esp0 = stack_top;
	t->ss = t->ss0 = SEG_KDATA;
	t->ds = t->es = t->fs = t->gs = SEG_KDATA;
	//@ LAB 8 BEGIN
	t->gs = SEG_KCPU;	/* mycpu() in the task */
	//@ LAB 8 END
	t->cs = SEG_KCODE;
	t->eip = (uint32_t)double_fault_task;
	t->eflags = 0x2;	/* interrupts off */
	t->cr3 = read_cr3();
	t->iomap_base = sizeof(*t);
	gdt_set_tss(SEG_DFTSS, t);
}

void dfault_init(void)
{
	df_setup(&df_tss, (uint32_t)df_stack + DF_STACK_SIZE);
	trap_set_task_gate(T_DBLFLT, SEG_DFTSS);
}

//@ LAB 8 BEGIN
void dfault_init_cpu(struct cpu *c)
{
	df_setup(&c->df_tss, c->df_stack + DF_STACK_SIZE);
}
//@ LAB 8 END
