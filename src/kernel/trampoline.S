//@ LAB 8 FILE
/*
 * The application processors' start code (lab 8). smp.c copies
 * [trampoline_start, trampoline_end) to TRAMPOLINE_PHYS and sends each AP
 * a STARTUP IPI naming that page: the AP starts there in real mode, 16-bit,
 * CS = TRAMPOLINE_PHYS >> 4, IP = 0, interrupts off, paging off. It must
 *
 *   1. load a GDT with flat 32-bit code and data segments (the copy's own,
 *      tr_gdt), set CR0.PE, and far-jump into the 32-bit code segment:
 *      protected mode;
 *   2. load the data segments, CR3 = trampoline_args.pgdir (a directory
 *      that maps this page 1:1 and the kernel half like the kernel's), set CR0.PG
 *      (and WP, as the boot CPU), and jump to ap_start in the kernel half;
 *   3. there, CR3 = the kernel's own directory, %esp = the top of the AP's
 *      stack, and call ap_main(cpu) (smp.c), which never returns.
 *
 * Code is linked with the kernel but runs at TRAMPOLINE_PHYS: an address
 * inside the copy is TRAMPOLINE_PHYS + (label - trampoline_start) (TR()).
 * The copy must fit below 0x9000, where QEMU's -kernel loader puts the
 * multiboot information (smp.c checks its size).
 */
#include "kernel/gdt.h"
#include "kernel/layout.h"
#include "kernel/x86.h"

#define TR(label)	(TRAMPOLINE_PHYS + ((label) - trampoline_start))
#define CR0_PE		0x1

	.section .rodata
	.code16
	.balign 16
	.globl trampoline_start, trampoline_end, trampoline_args
trampoline_start:
	cli
	cld
	//@ LAB 8 BEGIN
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl TR(tr_gdtdesc)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEG_KCODE, $TR(tr_32)

	.code32
tr_32:
	movw $SEG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl TR(trampoline_args), %eax		/* trampoline_args.pgdir */
	movl %eax, %cr3
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	movl $ap_start, %eax
	jmp *%eax
	//@ LAB 8 STUB
	//@ /* LAB 8 exercise 1: real mode -> protected mode -> paging, then ap_start
	//@    (the steps above; handouts/lab8-smp.md). Until then the AP stops here. */
	//@ 1: hlt
	//@ jmp 1b
	//@ LAB 8 END

	.code16
	.balign 8
tr_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF		/* SEG_KCODE: base 0, 4 GiB, code */
	.quad 0x00CF92000000FFFF		/* SEG_KDATA: base 0, 4 GiB, data */
tr_gdtdesc:
	.word tr_gdtdesc - tr_gdt - 1
	.long TR(tr_gdt)
	.balign 4
/* struct tramp_args (smp.c), filled in for each AP before its STARTUP IPI. */
trampoline_args:
	.long 0		/* pgdir: the start-up directory, physical */
	.long 0		/* kpgdir: the kernel's directory, physical */
	.long 0		/* stack: the top of the AP's stack */
	.long 0		/* cpu: its struct cpu */
trampoline_end:

	.text
	.code32
/* Paging is on, at the kernel's addresses; the args are read through the
 * direct map of low memory (KERNBASE + TRAMPOLINE_PHYS). */
	.globl ap_start
ap_start:
	movl $(KERNBASE + TR(trampoline_args)), %ebx
	movl 4(%ebx), %eax
	movl %eax, %cr3
	movl 8(%ebx), %esp
	xorl %ebp, %ebp			/* ends the backtrace */
	pushl 12(%ebx)
	call ap_main
1:	cli
	hlt
	jmp 1b
