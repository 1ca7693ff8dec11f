//@ LAB 7 FILE
/* fault KIND: does one thing the kernel must kill it for (the lab 7 fault
 * tests); prints "fault: KIND survived" if it was not killed. */
#include "user/lib/ulib.h"

static void (*volatile null_fn)(void);

static int kind(const char *k, const char *name)
{
	return strcmp(k, name) == 0;
}

static void kernel_sweep(const char *how, uintptr_t va)
{
	if (kind(how, "read"))
		(void)*(volatile uint32_t *)va;
	else if (kind(how, "write"))
		*(volatile uint32_t *)va = 1;
	else
		((void (*)(void))va)();
}

int main(int argc, char **argv)
{
	const char *k = argc > 1 ? argv[1] : "";
	volatile int zero = 0;

	if (kind(k, "nullread"))
		(void)*(volatile int *)0;
	else if (kind(k, "nullwrite"))
		*(volatile int *)0 = 1;
	else if (kind(k, "nulljump"))
		null_fn();
	else if (kind(k, "kernel") && argc > 3)	/* kernel read|write|jump ADDRESS */
		kernel_sweep(argv[2], strtoul(argv[3], NULL, 16));
	else if (kind(k, "textwrite"))
		*(volatile uint8_t *)main = 0xc3;
	else if (kind(k, "divzero"))	/* a real div: the compiler may not fold it */
		__asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %0"
				 :: "r"(zero) : "eax", "edx");
	else if (kind(k, "segload"))
		__asm__ volatile("movw $0x10, %%ax; movw %%ax, %%ds" ::: "eax");
	else if (kind(k, "int14"))
		__asm__ volatile("int $14");
	else if (kind(k, "int3"))
		__asm__ volatile("int3");
	else if (kind(k, "ud2"))
		__asm__ volatile("ud2");
	else if (kind(k, "cli"))
		__asm__ volatile("cli");
	else if (kind(k, "hlt"))
		__asm__ volatile("hlt");
	else if (kind(k, "in"))
		__asm__ volatile("inb $0x60, %%al" ::: "eax");
	else if (kind(k, "out"))
		__asm__ volatile("outb %%al, $0xf4" :: "a"(0));
	else if (kind(k, "cr3"))
		__asm__ volatile("movl %%eax, %%cr3" :: "a"(0));
	else if (kind(k, "popf")) {
		uint32_t fl;
		/* popf at CPL 3 leaves IOPL alone; then the port is still closed. */
		__asm__ volatile("pushfl; orl $0x3000, (%%esp); popfl; pushfl; popl %0" : "=r"(fl));
		printf("fault: popf: IOPL is %u\n", (fl >> 12) & 3);
		__asm__ volatile("outb %%al, $0xf4" :: "a"(0));
	} else {
		printf("fault: unknown kind '%s'\n", k);
		return 2;
	}
	printf("fault: %s survived\n", k);
	return 1;
}
