//@ LAB 7 FILE
/*
 * void enter_user(uint32_t eip, uint32_t esp, uint32_t kstack_top)
 *
 * The first entry to user mode: builds a struct trapframe (trap.h) at the
 * top of the thread's kernel stack, where the CPU would have put one had
 * the thread trapped from user mode, and leaves through trapret's iret:
 *
 *   kstack_top ->  ss      SEG_UDATA       pushed by the CPU on a trap
 *                  esp     the user stack   from ring 3, popped by iret
 *                  eflags  IF, IOPL 0
 *                  cs      SEG_UCODE
 *                  eip     the entry point
 *                  err, trapno  0, 0
 *                  ds es fs gs  SEG_UDATA
 *                  pushal: 8 zeros     <- esp, then jmp trapret
 */
#include "kernel/gdt.h"

	.text
	.globl enter_user
enter_user:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	movl 12(%esp), %ecx
	movl %ecx, %esp
	pushl $SEG_UDATA
	pushl %edx
	pushl $0x202			/* IF; IOPL 0 */
	pushl $SEG_UCODE
	pushl %eax
	pushl $0
	pushl $0
	pushl $SEG_UDATA
	pushl $SEG_UDATA
	pushl $SEG_UDATA
	pushl $SEG_UDATA
	pushl $0
	pushl $0
	pushl $0
	pushl $0
	pushl $0
	pushl $0
	pushl $0
	pushl $0
	xorl %ebp, %ebp
	jmp trapret

/*
 * int ucopy(void *dst, const void *src, size_t n)
 *
 * Copies n bytes between the kernel and user memory that ucheck has
 * accepted (uvm.h). The one instruction that touches user memory is
 * ucopy_insn's rep movsb; a page fault there goes to ucopy_fault (uvm.c,
 * through trap.c's kernel fault fixup) instead of a panic: a fault in the
 * thread's reserved stack grows the stack and the rep movsb resumes where
 * it stopped (its esi, edi, ecx are the progress made); any other fault
 * (the page was unmapped since the check, or growth ran out of memory)
 * resumes at ucopy_failed, which returns -EFAULT.
 */
	.globl ucopy, ucopy_insn, ucopy_failed
ucopy:
	pushl %esi
	pushl %edi
	movl 12(%esp), %edi
	movl 16(%esp), %esi
	movl 20(%esp), %ecx
	cld
ucopy_insn:
	rep movsb
	xorl %eax, %eax
	popl %edi
	popl %esi
	ret
ucopy_failed:
	movl $-14, %eax			/* -EFAULT (syscall_abi.h) */
	popl %edi
	popl %esi
	ret
