/*
 * kernel_main: bring-up in layer order, then one test (test=NAME) or the
 * monitor. Each lab adds its layer's init call here.
 */
#include <stdint.h>

#include "kernel/console.h"
#include "kernel/gdt.h"
#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/monitor.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/trap.h"
#include "kernel/x86.h"
//@ LAB 2 BEGIN
#include "mm/ppalloc.h"
//@ LAB 2 END

//@ LAB 3 BEGIN
#include "mm/vpalloc.h"
//@ LAB 3 END

//@ LAB 4 BEGIN
#include "mm/paging.h"
//@ LAB 4 END
//@ LAB 6 BEGIN
#include "mm/malloc.h"
//@ LAB 6 END

//@ LAB 7 BEGIN
#include "kernel/dfault.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/process.h"
//@ LAB 7 END

//@ LAB 8 BEGIN
#include "kernel/cpu.h"
#include "kernel/smp.h"
#include "kernel/tlb.h"
//@ LAB 8 END

extern char kernel_start[], kernel_end[];

void kernel_main(uint32_t magic, uint32_t info_phys)
{
	char test[64];

	console_init();
	gdt_init();
	//@ LAB 8 BEGIN
	cpu_boot_init();	/* this CPU's own GDT and TSS, %gs for mycpu(): before any lock */
	//@ LAB 8 END

	printk("Strata: a teaching kernel for i386 (lab %d tree)\n", STRATA_LAB);
	trap_init();
	if (boot_info(magic, info_phys) < 0)
		panic("unusable multiboot information (magic 0x%08x%s)", magic,
		      magic == MULTIBOOT_BOOTLOADER_MAGIC ? ", see above" : ": not multiboot");
	printk("[boot] loader: %s\n", bootinfo.loader[0] ? bootinfo.loader : "unknown");
	printk("[boot] cmdline: '%s'\n", bootinfo.cmdline);
	printk("[boot] kernel: 0x%08x-0x%08x, physical 0x%08x\n",
	       (uint32_t)kernel_start, (uint32_t)kernel_end, V2P(kernel_start));
	memmap_print();
	if (memory_mib() < MEMORY_MIN_MIB) {
		printk("[boot] %u MiB of memory is too little: Strata needs at least %u MiB "
		       "(QEMU -m %uM)\n", memory_mib(), MEMORY_MIN_MIB, MEMORY_MIN_MIB);
		machine_exit(EXIT_FAIL);
	}
	//@ LAB 2 BEGIN
	ppalloc_init();		/* physical pages; boot data open */
	//@ LAB 2 END

	//@ LAB 3 BEGIN
	vpalloc_init();		/* kernel virtual ranges, metadata in boot data */
	//@ LAB 3 END

	//@ LAB 2 BEGIN
	ppalloc_boot_done();	/* boot data and holes reserved; [ppalloc] summary */
	//@ LAB 2 END

	//@ LAB 4 BEGIN
	paging_init();
	//@ LAB 4 END
	//@ LAB 6 BEGIN
	if (cmdline_get("malloc_poison", test, sizeof(test))) {
		malloc_poison = 1;	/* freed heap memory is filled and checked */
		printk("[malloc] poisoning freed memory\n");
	}
	//@ LAB 6 END

	//@ LAB 7 BEGIN
	dfault_init();		/* double faults on a task and stack of their own */
	process_init();		/* this context becomes thread 1 'main', plus idle */
	lock_console_setup();	/* printk's lines whole per thread */
	//@ LAB 7 END

	//@ LAB 8 BEGIN
	tlb_init();		/* the shootdown IPI's handler, before any AP starts */
	smp_init();		/* CPUs, LAPIC timers (instead of the PIT), IOAPIC, APs */
	//@ LAB 8 END

	//@ LAB 7 BEGIN
	pit_init();		/* 100 Hz: ticks, sleep_ticks, preemption */
	__asm__ volatile("sti" ::: "memory");
	//@ LAB 7 END

	if (cmdline_get("test", test, sizeof(test)))
		ktest_run(test);
	monitor();
}
