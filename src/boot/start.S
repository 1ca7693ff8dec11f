/*
 * Kernel entry. The boot loader (GRUB, or QEMU -kernel) jumps to _start
 * with paging off, %eax = multiboot magic, %ebx = physical address of the
 * multiboot information. This code is linked at its physical address; the
 * rest of the kernel is linked at 0xC0100000 but loaded at 0x00100000, so
 * until paging is on its symbols are used through V2P().
 *
 * Boot page tables (lab 1, exercise 1):
 *
 *   boot_pgdir[0]    -> boot_pgtab[0]   1:1, virtual 0 .. 4 MiB, so the
 *                                       instruction after "paging on" runs
 *   boot_pgdir[768]  -> boot_pgtab[0]   KERNBASE + 0 .. 4 MiB
 *   boot_pgdir[769]  -> boot_pgtab[1]   KERNBASE + 4 .. 8 MiB
 *   boot_pgdir[1023] -> boot_pgdir      the recursive slot
 *
 *   boot_pgtab[0][i] = i pages          boot_pgtab[1][i] = 1024 + i pages
 */
#include "kernel/layout.h"
#include "kernel/panic.h"
#include "kernel/x86.h"

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory map */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .text.boot, "ax"
	.globl _start
_start:
	cli
	cld
	movl %eax, %esi			/* multiboot magic */
	movl %ebx, %edi			/* multiboot info, physical */

	//@ LAB 1 BEGIN
	/* Fill both boot page tables: entry i maps physical page i. */
	movl $V2P(boot_pgtab), %edx
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $PAGE_SHIFT, %eax
	orl $(PTE_PRESENT | PTE_WRITABLE), %eax
	movl %eax, (%edx, %ecx, 4)
	incl %ecx
	cmpl $(KERNEL_BOOT_MAPPED / PAGE_SIZE), %ecx
	jne 1b

	/* Point the directory at them: 1:1 for low memory, and the higher half. */
	movl $(V2P(boot_pgtab) + (PTE_PRESENT | PTE_WRITABLE)), %eax
	movl %eax, V2P(boot_pgdir)
	movl %eax, V2P(boot_pgdir) + PDE_INDEX(KERNBASE) * 4
	addl $PAGE_SIZE, %eax
	movl %eax, V2P(boot_pgdir) + (PDE_INDEX(KERNBASE) + 1) * 4
	//@ LAB 1 STUB
	//@ /* LAB 1 exercise 1: fill boot_pgtab and point boot_pgdir at it
	//@    (the picture above; handouts/lab1-boot.md, "The boot page tables"). */
	//@ LAB 1 END

	/* The recursive slot: the directory is its own last page table. */
	movl $(V2P(boot_pgdir) + (PTE_PRESENT | PTE_WRITABLE)), %eax
	movl %eax, V2P(boot_pgdir) + RECURSIVE_SLOT * 4

	/* Before paging goes on, check the three mappings it needs at once:
	 * this code's 1:1 alias, higher_half and the boot stack. A missing one
	 * would triple-fault with no output; say which it is instead. */
	movl $V2P(boot_stack_top), %esp
	movl $higher_half, %eax
	call boot_check_mapping
	movl $(boot_stack_top - 4), %eax
	call boot_check_mapping
	movl $1f, %eax
	call boot_check_mapping
1:
	movl $V2P(boot_pgdir), %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0

	/* Paging is on; jump from the 1:1 alias to the linked address. */
	movl $higher_half, %eax
	jmp *%eax

/*
 * Paging is still off. Walks boot_pgdir for virtual address %eax the way
 * the MMU will: returns if it maps to the physical address it must (V2P
 * for the kernel half, itself below KERNBASE); otherwise prints
 *   boot: the boot page tables do not map 0x........ (LAB 1 exercise 1, ...)
 * on COM1 and leaves QEMU with the "fail" status (or halts).
 * Clobbers %eax, %ebx, %ecx, %edx.
 */
boot_check_mapping:
	movl %eax, %ebx			/* the virtual address */
	movl %eax, %ecx
	cmpl $KERNBASE, %ecx
	jb 1f
	subl $KERNBASE, %ecx		/* the physical address it needs */
1:	shrl $22, %eax
	movl V2P(boot_pgdir)(, %eax, 4), %edx
	testl $PTE_PRESENT, %edx
	jz 2f
	andl $~0xfff, %edx		/* the page table */
	movl %ebx, %eax
	shrl $12, %eax
	andl $0x3ff, %eax
	movl (%edx, %eax, 4), %edx
	testl $PTE_PRESENT, %edx
	jz 2f
	xorl %ecx, %edx
	testl $~0xfff, %edx
	jnz 2f
	ret
2:	movl $V2P(boot_msg1), %edx
	call boot_puts
	movl $28, %ecx			/* eight hex digits, high first */
3:	movl %ebx, %eax
	shrl %cl, %eax
	andl $0xf, %eax
	movb V2P(boot_hex)(%eax), %al
	call boot_putc
	subl $4, %ecx
	jns 3b
	movl $V2P(boot_msg2), %edx
	call boot_puts
	movw $DEBUG_EXIT_PORT, %dx
	movl $EXIT_FAIL, %eax
	outl %eax, %dx
4:	hlt
	jmp 4b

/* Prints the NUL-terminated string at %edx on COM1. */
boot_puts:
	pushl %esi
	movl %edx, %esi
1:	movb (%esi), %al
	testb %al, %al
	jz 2f
	call boot_putc
	incl %esi
	jmp 1b
2:	popl %esi
	ret

/* Prints %al on COM1 once the transmitter is empty. Keeps %ecx. */
boot_putc:
	pushl %eax
	movw $0x3fd, %dx		/* line status register */
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	popl %eax
	movw $0x3f8, %dx
	outb %al, %dx
	ret

	.section .rodata
boot_msg1:
	.asciz "boot: the boot page tables do not map 0x"
boot_msg2:
	.asciz " (LAB 1 exercise 1, handouts/lab1-boot.md); stopping before paging is on\n"
boot_hex:
	.ascii "0123456789abcdef"

	.text
higher_half:
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp			/* ends the backtrace */
	pushl %edi
	pushl %esi
	call kernel_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.balign PAGE_SIZE
	.globl boot_pgdir, boot_pgtab, boot_stack, boot_stack_top
boot_pgdir:
	.space PAGE_SIZE
boot_pgtab:
	.space KERNEL_BOOT_MAPPED / 1024
boot_stack:
	.space BOOT_STACK_SIZE
boot_stack_top:
