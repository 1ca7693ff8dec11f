//@ LAB 7 FILE
/* _start: the kernel leaves argc at (%esp), then argv (syscall.c). */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	call main
	pushl %eax
	call exit
