//@ LAB 7 FILE
/*
 * The system call ABI (lab 7), shared by the kernel (syscall.c) and user
 * programs (src/user/lib/syscall.S): this one header holds the numbers.
 *
 *   int $0x80   (vector T_SYSCALL, a DPL 3 interrupt gate)
 *   eax         the call's number (SYS_*)
 *   ebx ecx edx esi edi   its arguments, in order
 *   eax         its result: >= 0, or a negative errno value (E*)
 *
 * Check, then act: the kernel validates every pointer and length a call is
 * given (inside USER_START .. USER_END, no wrap, every page mapped for user
 * access, writable if the kernel writes it) before it does anything, so a
 * bad pointer returns -EFAULT with no effect at all.
 */
#ifndef STRATA_SYSCALL_ABI_H
#define STRATA_SYSCALL_ABI_H

#define SYS_WRITE	1	/* write(buf, len): to the console; len or -E */
#define SYS_EXIT	2	/* exit(status): never returns */
#define SYS_GETPID	3	/* getpid() */
#define SYS_GETTID	4	/* gettid() */
#define SYS_YIELD	5	/* yield(): 0 */
#define SYS_SLEEP	6	/* sleep(ticks): 0 (100 ticks a second) */
#define SYS_SBRK	7	/* sbrk(delta): the old break, or -ENOMEM/-EINVAL */
#define SYS_SPAWN	8	/* spawn(name, argv): pid, -ENOENT, -ENOEXEC, -ENOMEM, -E2BIG */
#define SYS_WAIT	9	/* wait(pid, &status): pid reaped, or -ECHILD */
#define SYS_PAGES	10	/* pages(&struct sys_pages): 0 */
#define SYS_THREAD_CREATE 11	/* (start, fn, arg): tid; runs start(fn, arg) in user mode */
#define SYS_THREAD_EXIT	12	/* thread_exit(value): never returns */
#define SYS_THREAD_JOIN	13	/* thread_join(tid, &value): 0, -EINVAL, -EFAULT */
#define SYS_READ	14	/* read(buf, len): up to len bytes, one line at most, of
				 * console input (waits for one); count or -EFAULT */
#define SYS_MAX		14

#define EFAULT		14
#define ENOENT		2
#define ENOEXEC		8
#define ECHILD		10
#define ENOMEM		12
#define EINVAL		22
#define E2BIG		7
#define ENOSYS		38
#define EINTR		4	/* read: the process was killed while it waited */

/* What SYS_PAGES fills in: the free physical and kernel virtual pages. */
struct sys_pages {
	unsigned int phys_free;
	unsigned int kvirt_free;
};

/* spawn's limits: at most SPAWN_ARGS_MAX arguments (argv[0] included),
 * SPAWN_ARGLEN_MAX bytes of strings in all (each NUL included). */
#define SPAWN_ARGS_MAX		16
#define SPAWN_ARGLEN_MAX	1024
#define PROG_NAME_MAX		32

/* The user address space (design.md, "Lab 7"). */
#define USER_BINARY_BASE	0x00400000
#define USTACK_PAGES		16	/* reserved per thread, above one guard page */

#endif
