#include <stdarg.h>

#include "kernel/layout.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/symbols.h"
#include "kernel/x86.h"

#define BACKTRACE_MAX	32

static int panicking;
static void (*panic_final)(void);	/* see panic_at_end */

void panic_at_end(void (*fn)(void))
{
	panic_final = fn;
}

void machine_exit(int value)
{
	outl(DEBUG_EXIT_PORT, value);
	for (;;) {		/* not under QEMU: stop here */
		cli();
		hlt();
	}
}

void machine_reboot(void)
{
	struct dtr none = { 0, 0 };

	outb(0x64, 0xFE);	/* pulse the reset line through the keyboard controller */
	/* The reset takes a moment (QEMU: its next main-loop turn). Each write
	 * to port 0x80, the POST-code port, takes about 1 us on a PC. */
	for (int i = 0; i < 200000; i++)
		outb(0x80, 0);
	lidt(&none);		/* if that did not work: a triple fault resets too */
	__asm__ volatile("int3");
	for (;;)
		hlt();
}

static void print_frame(int depth, uint32_t eip)
{
	char sym[64];

	symbolize(eip, sym, sizeof(sym));
	printk("  #%d 0x%08x %s\n", depth, eip, sym);
}

/*
 * With frame pointers every function starts with "push %ebp; mov %esp,%ebp",
 * so a frame is [ebp] = caller's ebp, [ebp+4] = return address. The chain
 * ends at the 0 that start.S puts in %ebp before calling kernel_main.
 */
void backtrace(uint32_t eip, uint32_t ebp)
{
	print_frame(0, eip);
	//@ LAB 1 BEGIN
	for (int depth = 1; depth < BACKTRACE_MAX; depth++) {
		if (ebp < KERNBASE || ebp >= RECURSIVE_BASE || (ebp & 3))
			break;
		uint32_t *frame = (uint32_t *)ebp;
		if (frame[1] == 0)
			break;
		/* The call instruction is just before the return address. */
		print_frame(depth, frame[1] - 1);
		ebp = frame[0];
	}
	//@ LAB 1 STUB
	//@ /* LAB 1 exercise 3: walk the saved-%ebp chain (handouts/lab1-boot.md). */
	//@ (void)ebp;
	//@ LAB 1 END
}

static void panic_start(void)
{
	cli();
	if (panicking++) {
		printk("panic: nested panic\n");
		machine_exit(EXIT_PANIC);
	}
	//@ LAB 7 BEGIN
	printk_panic();		/* even if another CPU is printing */
	//@ LAB 7 END
}

void vpanic(uint32_t eip, uint32_t ebp, const char *fmt, va_list ap)
{
	panic_start();
	printk("panic: ");
	vprintk(fmt, ap);
	printk("\nbacktrace:\n");
	backtrace(eip, ebp);
	printk("kernel panic: stopping\n");
	if (panic_final)
		panic_final();
	machine_exit(EXIT_PANIC);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpanic(BACKTRACE_HERE, fmt, ap);
}
