#include <stdarg.h>
#include <stdint.h>

#include "kernel/gdt.h"
#include "kernel/panic.h"
#include "kernel/pic.h"
#include "kernel/printk.h"
#include "kernel/symbols.h"
#include "kernel/trap.h"
#include "kernel/x86.h"

#define N_VECTORS	256
#define GATE_INT	0x8E	/* present, DPL 0, 32-bit interrupt gate */
#define GATE_INT_USER	0xEE	/* the same, callable from ring 3 */
#define GATE_TASK	0x85	/* present, DPL 0, task gate */

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct gate idt[N_VECTORS];
static trap_handler handlers[N_VECTORS];
static trap_handler user_handler;
static trap_fixup kernel_fault_fixup;
extern uint32_t vectors[];

static const struct {
	const char *mnemonic, *name;
} exceptions[32] = {
	{ "DE", "divide error" }, { "DB", "debug" }, { "NMI", "non-maskable interrupt" },
	{ "BP", "breakpoint" }, { "OF", "overflow" }, { "BR", "bound range exceeded" },
	{ "UD", "invalid opcode" }, { "NM", "device not available" },
	{ "DF", "double fault" }, { "CSO", "coprocessor segment overrun" },
	{ "TS", "invalid TSS" }, { "NP", "segment not present" },
	{ "SS", "stack-segment fault" }, { "GP", "general protection" },
	{ "PF", "page fault" }, { "15", "reserved" }, { "MF", "x87 floating-point error" },
	{ "AC", "alignment check" }, { "MC", "machine check" },
	{ "XM", "SIMD floating-point exception" }, { "VE", "virtualization exception" },
	{ "CP", "control protection" }, { "22", "reserved" }, { "23", "reserved" },
	{ "24", "reserved" }, { "25", "reserved" }, { "26", "reserved" },
	{ "27", "reserved" }, { "HV", "hypervisor injection" },
	{ "VC", "VMM communication" }, { "SX", "security exception" }, { "31", "reserved" },
};

const char *trap_name(uint32_t trapno)
{
	if (trapno < 32)
		return exceptions[trapno].name;
	if (trapno >= T_IRQ0 && trapno < T_IRQ0 + PIC_IRQS)
		return "hardware interrupt";
	if (trapno == T_SYSCALL)
		return "system call";
	if (trapno >= T_LAPIC_TIMER)
		return "local APIC interrupt";
	return "unknown";
}

const char *trap_mnemonic(uint32_t trapno)
{
	return trapno < 32 ? exceptions[trapno].mnemonic : "-";
}

static void set_gate(int n, uint32_t handler, uint8_t type)
{
	idt[n].off_lo = handler & 0xFFFF;
	idt[n].sel = SEG_KCODE;
	idt[n].zero = 0;
	idt[n].type = type;
	idt[n].off_hi = handler >> 16;
}

void trap_init(void)
{
	struct dtr d = { sizeof(idt) - 1, (uint32_t)idt };

	for (int i = 0; i < T_IRQ0 + PIC_IRQS; i++)
		set_gate(i, vectors[i], GATE_INT);
	set_gate(T_SYSCALL, vectors[T_IRQ0 + PIC_IRQS], GATE_INT_USER);
	/* int3 from user mode is a breakpoint (the other exceptions' gates
	 * are DPL 0: "int $14" from user mode is a #GP, not a page fault). */
	set_gate(T_BRKPT, vectors[T_BRKPT], GATE_INT_USER);
	set_gate(T_LAPIC_TIMER, vectors[T_IRQ0 + PIC_IRQS + 1], GATE_INT);
	set_gate(T_IPI_TLB, vectors[T_IRQ0 + PIC_IRQS + 2], GATE_INT);
	set_gate(T_SPURIOUS, vectors[T_IRQ0 + PIC_IRQS + 3], GATE_INT);
	pic_init(T_IRQ0);
	lidt(&d);
}

void trap_load_idt(void)
{
	struct dtr d = { sizeof(idt) - 1, (uint32_t)idt };

	lidt(&d);
}

void trap_set_handler(uint32_t trapno, trap_handler h)
{
	handlers[trapno] = h;
}

void trap_set_user_handler(trap_handler h)
{
	user_handler = h;
}

void trap_set_kernel_fault_fixup(trap_fixup f)
{
	kernel_fault_fixup = f;
}

void trap_set_task_gate(uint32_t vector, uint16_t tss_sel)
{
	set_gate(vector, 0, GATE_TASK);
	idt[vector].sel = tss_sel;
}

void pf_decode(uint32_t err, char *buf, int size)
{
	//@ LAB 1 BEGIN
	snprintf(buf, size, "%s %s %s%s",
		 (err & PF_FETCH) ? "fetch" : (err & PF_WRITE) ? "write" : "read",
		 (err & PF_USER) ? "user" : "kernel",
		 (err & PF_PRESENT) ? "protection" : "not-present",
		 (err & PF_RSVD) ? " reserved-bit" : "");
	//@ LAB 1 STUB
	//@ /* LAB 1 exercise 2: decode the error code (handouts/lab1-boot.md). */
	//@ snprintf(buf, size, "undecoded 0x%x", err);
	//@ LAB 1 END
}

void panic_trap(struct trapframe *tf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpanic(tf->eip, tf->ebp, fmt, ap);
}

static void page_fault(struct trapframe *tf)
{
	uint32_t va = read_cr2();
	char why[64];

	if (kernel_fault_fixup && kernel_fault_fixup(tf))
		return;
	pf_decode(tf->err, why, sizeof(why));
	printk("page fault: va=0x%08x eip=0x%08x err=0x%x [%s]\n",
	       va, tf->eip, tf->err, why);
	if (handlers[T_PGFLT]) {
		handlers[T_PGFLT](tf);
		return;
	}
	panic_trap(tf, "unhandled page fault at va 0x%08x", va);
}

/* An IRQ no handler claimed: acknowledge it, so the line stays usable. */
static void irq(struct trapframe *tf)
{
	pic_eoi(tf->trapno - T_IRQ0);
}

/* Inlined into both callers, so a kernel trap's backtrace stays
 * handler <- trap <- alltraps. */
static inline __attribute__((always_inline)) void dispatch(struct trapframe *tf)
{
	char sym[64];

	if (tf->trapno == T_PGFLT) {
		page_fault(tf);
		return;
	}
	if (handlers[tf->trapno]) {
		handlers[tf->trapno](tf);
		return;
	}
	if (tf->trapno >= T_IRQ0 && tf->trapno < T_IRQ0 + PIC_IRQS) {
		irq(tf);
		return;
	}
	symbolize(tf->eip, sym, sizeof(sym));
	printk("trap: %s (#%s, vector %u) eip=0x%08x (%s) err=0x%x\n",
	       trap_name(tf->trapno), trap_mnemonic(tf->trapno), tf->trapno,
	       tf->eip, sym, tf->err);
	if (tf->trapno == T_BRKPT)	/* int3 in the kernel: report and go on */
		return;
	panic_trap(tf, "unhandled %s in the kernel", trap_name(tf->trapno));
}

void trap_dispatch(struct trapframe *tf)
{
	dispatch(tf);
}

void trap(struct trapframe *tf)
{
	if ((tf->cs & 3) == 3 && user_handler) {
		user_handler(tf);
		return;
	}
	dispatch(tf);
}
