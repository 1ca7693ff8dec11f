/*
 * Lab 1 in-kernel tests. Each prints the lines its trace in this folder
 * expects; faults and panics are the point of several of them.
 */
#include <stdint.h>

#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/symbols.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
#include "lib/string.h"

#define UNMAPPED_VA	0xdeadb000

extern char kernel_start[], kernel_end[], boot_stack[], boot_stack_top[];
extern uint32_t boot_pgdir[];

KTEST(boot)
{
	char value[64];

	KEXPECT(cmdline_get("test", value, sizeof(value)));
	KEXPECT(strcmp(value, "boot") == 0);
	KEXPECT(bootinfo.n_regions > 0);
	printk("boot: %d memory regions, command line test=%s\n", bootinfo.n_regions, value);
}

/* Walks the active directory through the recursive slot. */
static uint32_t translate(uint32_t va)
{
	uint32_t *pd = (uint32_t *)(RECURSIVE_BASE + RECURSIVE_SLOT * PAGE_SIZE);
	uint32_t *pt = (uint32_t *)(RECURSIVE_BASE + PDE_INDEX(va) * PAGE_SIZE);

	if (!(pd[PDE_INDEX(va)] & PTE_PRESENT) || !(pt[PTE_INDEX(va)] & PTE_PRESENT))
		return 0xFFFFFFFF;
	return PTE_ADDR(pt[PTE_INDEX(va)]) | (va & 0xFFF);
}

KTEST(higher_half)
{
	uint32_t code = (uint32_t)&ktest_higher_half;
	uint32_t stack = read_esp();

	printk("higher_half: code at 0x%08x, stack at 0x%08x\n", code, stack);
	KEXPECT(code >= KERNBASE + KERNEL_PHYS && code < (uint32_t)kernel_end);
	KEXPECT(stack >= (uint32_t)boot_stack && stack < (uint32_t)boot_stack_top);
	KEXPECT_EQ(translate(code), code - KERNBASE);
	KEXPECT_EQ(translate((uint32_t)boot_pgdir), V2P(boot_pgdir));
	KEXPECT_EQ(read_cr3(), V2P(boot_pgdir));
	KEXPECT(read_cr0() & CR0_PG);
	/* The recursive slot: the last PDE maps the directory itself. */
	KEXPECT_EQ(PTE_ADDR(boot_pgdir[RECURSIVE_SLOT]), V2P(boot_pgdir));
	printk("higher_half: 0x%08x -> physical 0x%08x\n", code, translate(code));
	printk("higher_half: recursive slot -> 0x%08x\n", PTE_ADDR(boot_pgdir[RECURSIVE_SLOT]));
}

static const char *volatile null_string;

KTEST(printk)
{
	char buf[64];

	printk("printk: [%d] [%i] [%u]\n", -42, 7, 4000000000u);
	printk("printk: [%x] [%X] [%08x] [%p]\n", 0xbeef, 0xbeef, 0x2a, (void *)0xc0100000);
	printk("printk: [%5d] [%-5d] [%05d] [%-3s] [%3s]\n", 42, 42, -42, "a", "b");
	printk("printk: [%s] [%c] [%%] [%ld] [%lx]\n", "strata", 'k', -1L, 0xfffffffful);
	printk("printk: [%s]\n", null_string);
	KEXPECT_EQ(snprintf(buf, 8, "%s", "truncated!"), 10);
	KEXPECT(strcmp(buf, "truncat") == 0);
}

KTEST(breakpoint)
{
	printk("breakpoint: before int3\n");
	__asm__ volatile("int3");
	printk("breakpoint: after int3\n");
}

KTEST(divide_error)
{
	uint32_t quotient;

	printk("divide_error: dividing by zero\n");
	/* In assembly: the compiler may turn a C division into something else. */
	__asm__ volatile("divl %2" : "=a"(quotient) : "a"(1), "r"(0), "d"(0));
	printk("divide_error: quotient %u\n", quotient);
}

KTEST(pf_read)
{
	volatile uint32_t *p = (volatile uint32_t *)UNMAPPED_VA;

	printk("pf_read: reading 0x%08x\n", UNMAPPED_VA);
	printk("pf_read: read 0x%x\n", *p);
}

KTEST(pf_write)
{
	volatile uint32_t *p = (volatile uint32_t *)UNMAPPED_VA;

	printk("pf_write: writing 0x%08x\n", UNMAPPED_VA);
	*p = 1;
}

/* Kept out of line, so each has its own frame in the backtrace. */
static void __attribute__((noinline)) bt_third(int depth)
{
	panic("backtrace test at depth %d", depth);
}

static void __attribute__((noinline)) bt_second(int depth)
{
	bt_third(depth + 1);
	__asm__ volatile("");
}

static void __attribute__((noinline)) bt_first(int depth)
{
	bt_second(depth + 1);
	__asm__ volatile("");
}

KTEST(backtrace)
{
	bt_first(1);
}
