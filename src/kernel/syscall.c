//@ LAB 7 FILE
/* Spawning user programs, the user trap handler and the system calls
 * (syscall.h, syscall_abi.h). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/console.h"
#include "kernel/elf.h"
#include "kernel/initrd.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/pit.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/syscall_abi.h"
#include "kernel/trap.h"
#include "kernel/uvm.h"
#include "kernel/x86.h"
#include "lib/string.h"
#include "mm/malloc.h"

void enter_user(uint32_t eip, uint32_t esp, uint32_t kstack_top) __attribute__((noreturn));

/* What a new process's first thread needs: the image and its arguments. */
struct spawn_args {
	const void *image;
	size_t size;
	int argc;
	size_t len;			/* bytes of strings */
	char strings[SPAWN_ARGLEN_MAX];	/* argv[0] NUL argv[1] NUL ... */
};

static void user_trap(struct trapframe *tf);

void syscall_init(void)
{
	trap_set_user_handler(user_trap);
}

/*
 * The initial user stack, built in the top page (esp at argc):
 *
 *   ustack_top ->  the strings, NUL-terminated
 *                  argv[argc] = NULL, argv[argc-1] ... argv[0]
 *                  argv  (a pointer to argv[0])
 *   esp ->         argc
 */
static uint32_t push_args(struct thread *t, struct spawn_args *a)
{
	uintptr_t strs = PAGE_ROUNDDOWN(t->ustack_top - a->len) & ~3u;
	uint32_t *sp;
	size_t off = 0;

	strs = (t->ustack_top - a->len) & ~3u;
	memcpy((void *)strs, a->strings, a->len);
	sp = (uint32_t *)strs - (a->argc + 1);
	for (int i = 0; i < a->argc; i++) {
		sp[i] = strs + off;
		off += strlen(a->strings + off) + 1;
	}
	sp[a->argc] = 0;
	sp[-1] = (uint32_t)sp;
	sp[-2] = a->argc;
	return (uint32_t)(sp - 2);
}

/* The first thread of a spawned process, in the kernel with the process's
 * directory loaded: loads the program, makes the stack, enters user mode. */
static int user_main(void *arg)
{
	struct spawn_args *a = arg;
	struct thread *t = current_thread();
	uintptr_t entry;
	uint32_t esp;

	if (elf_load(t->process, a->image, a->size, &entry) < 0 || ustack_create(t) < 0) {
		printk("spawn: pid %d '%s': out of memory while loading\n",
		       t->process->pid, t->process->name);
		free(a);
		process_exit(-1);
	}
	esp = push_args(t, a);
	free(a);
	enter_user(entry, esp, t->stack + t->stack_pages * PAGE_SIZE);
}

int spawn(const char *name, int argc, const char *const argv[])
{
	struct spawn_args *a;
	const char *why;
	int pid;

	syscall_init();
	if (argc < 1 || argc > SPAWN_ARGS_MAX)
		return -E2BIG;
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (initrd_find(name, &a->image, &a->size) < 0) {
		pid = -ENOENT;
		goto fail;
	}
	if ((why = elf_check(a->image, a->size))) {
		printk("spawn: '%s': %s\n", name, why);
		pid = -ENOEXEC;
		goto fail;
	}
	a->argc = argc;
	a->len = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > SPAWN_ARGLEN_MAX - a->len) {
			pid = -E2BIG;
			goto fail;
		}
		memcpy(a->strings + a->len, argv[i], n);
		a->len += n;
	}
	if ((pid = process_create(name, user_main, a)) < 0) {
		pid = -ENOMEM;
		goto fail;
	}
	return pid;
fail:
	free(a);
	return pid;
}

/* ---- faults ---- */

/* An exception from user mode: stack growth, or the process dies. */
static void user_fault(struct trapframe *tf)
{
	struct thread *t = current_thread();
	struct process *p = t->process;
	uint32_t va = tf->trapno == T_PGFLT ? read_cr2() : 0;
	char why[64];

	if (tf->trapno == T_PGFLT && !(tf->err & PF_PRESENT)) {
		int grown = ustack_grow(t, va);
		if (grown > 0)
			return;
		if (ustack_in_guard(t, va)) {
			printk("user fault: pid %d tid %d '%s' stack overflow va=0x%08x "
			       "eip=0x%08x -- killed\n", p->pid, t->tid, p->name, va, tf->eip);
			goto kill;
		}
	}
	if (tf->trapno == T_PGFLT) {
		pf_decode(tf->err, why, sizeof(why));
		printk("user fault: pid %d tid %d '%s' page fault va=0x%08x eip=0x%08x "
		       "err=0x%x [%s] -- killed\n", p->pid, t->tid, p->name, va, tf->eip,
		       tf->err, why);
	} else {
		printk("user fault: pid %d tid %d '%s' %s (#%s) eip=0x%08x err=0x%x -- killed\n",
		       p->pid, t->tid, p->name, trap_name(tf->trapno),
		       trap_mnemonic(tf->trapno), tf->eip, tf->err);
	}
kill:
	process_kill(p, -1);
}

/* ---- user threads ---- */

/* What a new user thread needs: where it starts in user mode. */
struct uthread_args {
	uint32_t start, fn, arg;	/* start(fn, arg): the library's wrapper */
};

/* A user thread's first moments, in the kernel: its stack, then user mode
 * at start(fn, arg), with a return address of 0 (it must not return). */
static int uthread_main(void *varg)
{
	struct uthread_args a = *(struct uthread_args *)varg;
	struct thread *t = current_thread();
	uint32_t *sp;

	free(varg);
	if (ustack_create(t) < 0)
		thread_exit(-ENOMEM);
	sp = (uint32_t *)t->ustack_top;
	*--sp = a.arg;
	*--sp = a.fn;
	*--sp = 0;
	enter_user(a.start, (uint32_t)sp, t->stack + t->stack_pages * PAGE_SIZE);
}

static int32_t sys_thread_create(uint32_t start, uint32_t fn, uint32_t arg)
{
	struct uthread_args *a;
	struct thread *t;

	if (ucheck(start, 1, 0) < 0)
		return -EFAULT;
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct uthread_args){ start, fn, arg };
	if (!(t = thread_create("uthread", uthread_main, a))) {
		free(a);
		return -ENOMEM;
	}
	return t->tid;
}

static int32_t sys_thread_join(int32_t tid, uint32_t uvalue)
{
	struct thread *t = thread_find(tid);
	uintptr_t block;
	int value;

	if (uvalue && ucheck(uvalue, sizeof(int), 1) < 0)
		return -EFAULT;
	if (!t || t->process != current_process() || t == current_thread())
		return -EINVAL;
	block = t->ustack_block;
	if (thread_join(t, &value) < 0)
		return -EINVAL;
	ustack_free(current_process(), block);	/* its stack pages come back */
	if (uvalue && ucheck(uvalue, sizeof(int), 1) == 0)
		*(int *)uvalue = value;
	return 0;
}

/* ---- system calls ---- */

static int32_t sys_write(uint32_t buf, uint32_t len)
{
	if (ucheck(buf, len, 0) < 0)
		return -EFAULT;
	for (uint32_t i = 0; i < len; i++)
		console_putc(((const char *)buf)[i]);
	return len;
}

static int32_t sys_spawn(uint32_t uname, uint32_t uargv)
{
	const char *argv[SPAWN_ARGS_MAX];
	int argc, n;

	if ((n = ucheck_str(uname, PROG_NAME_MAX)) < 0)
		return n;
	for (argc = 0;; argc++) {
		uint32_t slot = uargv + 4 * argc, s;
		if (ucheck(slot, 4, 0) < 0)
			return -EFAULT;
		if (!(s = *(const uint32_t *)slot))
			break;
		if (argc == SPAWN_ARGS_MAX)
			return -E2BIG;
		if ((n = ucheck_str(s, SPAWN_ARGLEN_MAX)) < 0)
			return n == -EINVAL ? -E2BIG : n;
		argv[argc] = (const char *)s;
	}
	if (argc == 0)
		return -EINVAL;
	return spawn((const char *)uname, argc, argv);
}

static int32_t sys_wait(int32_t pid, uint32_t ustatus)
{
	int status;

	if (ustatus && ucheck(ustatus, sizeof(int), 1) < 0)
		return -EFAULT;
	if ((pid = process_wait(pid, &status)) < 0)
		return -ECHILD;
	if (ustatus && ucheck(ustatus, sizeof(int), 1) == 0)
		*(int *)ustatus = status;
	return pid;
}

static int32_t sys_pages(uint32_t upc)
{
	struct page_counts pc;

	if (ucheck(upc, sizeof(struct sys_pages), 1) < 0)
		return -EFAULT;
	page_counts(&pc);
	((struct sys_pages *)upc)->phys_free = pc.phys_free;
	((struct sys_pages *)upc)->kvirt_free = pc.kvirt_free;
	return 0;
}

static int32_t syscall(struct trapframe *tf)
{
	switch (tf->eax) {
	case SYS_WRITE:		return sys_write(tf->ebx, tf->ecx);
	case SYS_EXIT:		/* the whole process: its other threads too */
		process_kill(current_process(), (int)tf->ebx);
		process_exit((int)tf->ebx);
	case SYS_GETPID:	return current_process()->pid;
	case SYS_GETTID:	return current_thread()->tid;
	case SYS_YIELD:		thread_yield(); return 0;
	case SYS_SLEEP:		sleep_ticks(tf->ebx); return 0;
	case SYS_SBRK:		return usbrk((int32_t)tf->ebx);
	case SYS_SPAWN:		return sys_spawn(tf->ebx, tf->ecx);
	case SYS_WAIT:		return sys_wait((int32_t)tf->ebx, tf->ecx);
	case SYS_PAGES:		return sys_pages(tf->ebx);
	case SYS_THREAD_CREATE:	return sys_thread_create(tf->ebx, tf->ecx, tf->edx);
	case SYS_THREAD_EXIT:	thread_exit((int)tf->ebx);
	case SYS_THREAD_JOIN:	return sys_thread_join((int32_t)tf->ebx, tf->ecx);
	default:		return -ENOSYS;
	}
}

/* Every trap from user mode (trap.c). A killed process's threads exit
 * here, on their way back to user mode. */
static void user_trap(struct trapframe *tf)
{
	if (tf->trapno == T_SYSCALL)
		tf->eax = syscall(tf);
	else if (tf->trapno < T_IRQ0)
		user_fault(tf);
	else
		trap_dispatch(tf);
	if (current_process()->killed)
		process_exit(-1);
}
