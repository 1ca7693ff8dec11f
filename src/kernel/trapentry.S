/*
 * Interrupt entry points. The CPU pushes eflags, cs, eip (and esp, ss from
 * user mode) and, for some exceptions, an error code. Each stub makes the
 * stack uniform (a 0 where the CPU pushes no error code), pushes its vector
 * and jumps to alltraps, which saves the rest of struct trapframe.
 */
#include "kernel/gdt.h"

#define NOERR(n)		\
	.globl vector##n;	\
vector##n:			\
	pushl $0;		\
	pushl $n;		\
	jmp alltraps;

#define ERR(n)			\
	.globl vector##n;	\
vector##n:			\
	pushl $n;		\
	jmp alltraps;

	.text
NOERR(0)  NOERR(1)  NOERR(2)  NOERR(3)  NOERR(4)  NOERR(5)  NOERR(6)  NOERR(7)
ERR(8)    NOERR(9)  ERR(10)   ERR(11)   ERR(12)   ERR(13)   ERR(14)   NOERR(15)
NOERR(16) ERR(17)   NOERR(18) NOERR(19) NOERR(20) ERR(21)   NOERR(22) NOERR(23)
NOERR(24) NOERR(25) NOERR(26) NOERR(27) NOERR(28) ERR(29)   ERR(30)   NOERR(31)
NOERR(32) NOERR(33) NOERR(34) NOERR(35) NOERR(36) NOERR(37) NOERR(38) NOERR(39)
NOERR(40) NOERR(41) NOERR(42) NOERR(43) NOERR(44) NOERR(45) NOERR(46) NOERR(47)
NOERR(128)
NOERR(239) NOERR(240) NOERR(255)

	.globl alltraps
alltraps:
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	pushal
	movl $SEG_KDATA, %eax
	movw %ax, %ds
	movw %ax, %es
	//@ LAB 8 BEGIN
	movl $SEG_KCPU, %eax		/* this CPU's struct cpu (a trap from user mode) */
	movw %ax, %gs
	//@ LAB 8 END

	pushl %esp		/* struct trapframe * */
	call trap
	addl $4, %esp
	.globl trapret
trapret:
	popal
	popl %gs
	popl %fs
	popl %es
	popl %ds
	addl $8, %esp		/* vector and error code */
	iret

	.section .rodata
	.balign 4
	.globl vectors
vectors:
	.long vector0,  vector1,  vector2,  vector3,  vector4,  vector5,  vector6,  vector7
	.long vector8,  vector9,  vector10, vector11, vector12, vector13, vector14, vector15
	.long vector16, vector17, vector18, vector19, vector20, vector21, vector22, vector23
	.long vector24, vector25, vector26, vector27, vector28, vector29, vector30, vector31
	.long vector32, vector33, vector34, vector35, vector36, vector37, vector38, vector39
	.long vector40, vector41, vector42, vector43, vector44, vector45, vector46, vector47
	.long vector128
	.long vector239, vector240, vector255	/* T_LAPIC_TIMER, T_IPI_TLB, T_SPURIOUS */
