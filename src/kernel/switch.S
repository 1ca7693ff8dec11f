//@ LAB 7 FILE
/*
 * void switch_threads(struct context **save, struct context *load)
 *
 * The context switch. C code may assume that a call preserves %ebx, %esi,
 * %edi, %ebp and %esp (the callee-saved registers of the i386 System V
 * ABI); %eax, %ecx, %edx and the flags may change. So a thread that calls
 * switch_threads needs exactly those five kept for it: the four are pushed
 * on its own stack, beside the return address the call pushed, and %esp
 * itself is kept in *save. Loading another thread's saved %esp and popping
 * its four registers resumes that thread where it called switch_threads
 * (or, for a new thread, at the frame thread_create built).
 *
 *   after the pushes:            struct context (thread.h)
 *     esp+16  return address     eip
 *     esp+12  %ebp               ebp
 *     esp+8   %ebx               ebx
 *     esp+4   %esi               esi
 *     esp     %edi    <- *save   edi
 */
	.text
	.globl switch_threads
switch_threads:
	//@ LAB 7 BEGIN
	movl 4(%esp), %eax		/* save */
	movl 8(%esp), %edx		/* load */
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 1: save this thread's registers and stack pointer,
	//@    load the other's (handouts/lab7-threads.md). Until then: */
	//@ call switch_missing
	//@ LAB 7 END

/*
 * void thread_start(void): where every thread begins. The first frame
 * (thread.c) "returns" here with the stack holding
 *     (%esp) 0, 4(%esp) fn, 8(%esp) arg
 * and %ebp = 0. Finishes the switch, runs fn(arg), exits with its value.
 */
	.globl thread_start
thread_start:
	call sched_first_run
	movl 4(%esp), %eax		/* fn */
	pushl 8(%esp)			/* arg */
	call *%eax
	pushl %eax
	call thread_exit		/* never returns */
