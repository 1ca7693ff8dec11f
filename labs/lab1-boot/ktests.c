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

/*
 * Exercise 2, every bit: pf_decode called directly for all 32 values of the
 * five bits it decodes, including those QEMU never produces here (user,
 * reserved-bit and instruction-fetch faults).
 */
KTEST(pf_decode)
{
	char buf[64];

	for (uint32_t err = 0; err < 32; err++) {
		pf_decode(err, buf, sizeof(buf));
		printk("pf_decode: 0x%02x [%s]\n", err, buf);
	}
}

/* Exercise 3: a chain deeper than the backtrace's limit prints exactly
 * BACKTRACE_MAX (32) frames, #0 to #31. */
/* GCC counts a path that ends in the noreturn panic as one that never
 * returns, and so calls this an infinite recursion. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static void __attribute__((noinline)) bt_deep(int n)
{
	if (n > 0)
		bt_deep(n - 1);
	else
		panic("deep backtrace");
	__asm__ volatile("");
}
#pragma GCC diagnostic pop

KTEST(backtrace_deep)
{
	bt_deep(40);
}

/*
 * Exercise 3: the walk stops at a frame it must not read. Each walk starts
 * at a fake frame whose return address is good and whose saved %ebp is bad
 * in one way: it prints #0 and #1, and no #2.
 */
static uint32_t fake[4][2] __attribute__((aligned(16)));

static void walk_from(const char *what, uint32_t saved_ebp, uint32_t ret)
{
	fake[0][0] = saved_ebp;
	fake[0][1] = ret;
	printk("backtrace_bad: %s\n", what);
	backtrace((uint32_t)&bt_deep + 4, (uint32_t)&fake[0]);
}

KTEST(backtrace_bad)
{
	uint32_t ret = (uint32_t)&bt_deep + 6;	/* printed as bt_deep+0x5 */

	/* A readable frame with a good return address, for walks that go on. */
	fake[1][0] = 0;
	fake[1][1] = ret;
	fake[2][0] = (uint32_t)&fake[1];
	fake[2][1] = ret;
	walk_from("saved ebp not 4-aligned", (uint32_t)&fake[2] + 2, ret);
	walk_from("saved ebp below KERNBASE", V2P((uint32_t)&fake[2]), ret);
	walk_from("saved ebp in the recursive window",
		  RECURSIVE_BASE + PDE_INDEX(KERNBASE) * PAGE_SIZE + 4 * 4, ret);
	walk_from("saved ebp 0", 0, ret);
	/* A zero return address ends the walk before it is printed. */
	printk("backtrace_bad: return address 0\n");
	fake[3][0] = (uint32_t)&fake[2];
	fake[3][1] = 0;
	backtrace((uint32_t)&bt_deep + 4, (uint32_t)&fake[3]);
	printk("backtrace_bad: done\n");
}

extern uint32_t boot_pgtab[];

/*
 * Exercise 1, exactly: the two boot page tables map physical page i at
 * entry i, present and writable and nothing else (the CPU may have set the
 * accessed and dirty bits), and both higher-half PDEs point at them.
 */
KTEST(boot_tables)
{
	const uint32_t ad = PTE_ACCESSED | PTE_DIRTY;

	for (uint32_t i = 0; i < KERNEL_BOOT_MAPPED / PAGE_SIZE; i++)
		if ((boot_pgtab[i] & ~ad) != ((i << PAGE_SHIFT) | PTE_PRESENT | PTE_WRITABLE))
			ktest_fail("boot_pgtab[%u] is 0x%08x, expected 0x%08x: entry i maps "
				   "physical page i, PTE_PRESENT | PTE_WRITABLE (exercise 1)", i,
				   boot_pgtab[i], (i << PAGE_SHIFT) | PTE_PRESENT | PTE_WRITABLE);
	printk("boot_tables: %u entries, entry i -> page i, present and writable\n",
	       KERNEL_BOOT_MAPPED / PAGE_SIZE);
	for (uint32_t t = 0; t < KERNEL_BOOT_MAPPED >> 22; t++) {
		uint32_t want = (V2P((uint32_t)boot_pgtab) + t * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE;
		uint32_t pde = boot_pgdir[PDE_INDEX(KERNBASE) + t] & ~PTE_ACCESSED;
		if (pde != want)
			ktest_fail("boot_pgdir[%u] is 0x%08x, expected 0x%08x: the higher half's "
				   "PDE %u points at boot table %u, present and writable (exercise 1)",
				   PDE_INDEX(KERNBASE) + t, pde, want, t, t);
	}
	/* The 1:1 PDE (until lab 4 removes it) points at the first table. */
	if (boot_pgdir[0] && (boot_pgdir[0] & ~PTE_ACCESSED) !=
	    (V2P((uint32_t)boot_pgtab) | PTE_PRESENT | PTE_WRITABLE))
		ktest_fail("boot_pgdir[0] is 0x%08x, expected 0x%08x: the 1:1 map of the "
			   "first 4 MiB (exercise 1)", boot_pgdir[0],
			   V2P((uint32_t)boot_pgtab) | PTE_PRESENT | PTE_WRITABLE);
	printk("boot_tables: the higher half's PDEs point at them\n");
}
