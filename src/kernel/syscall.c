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
	trap_set_kernel_fault_fixup(ucopy_fault);
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

/* An exception from user mode: stack growth, or the process dies. Not
 * inlined: GDB's strata-pf stops here for a user page fault. */
static void __attribute__((noinline)) user_fault(struct trapframe *tf)
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

static void sys_thread_exit(int value) __attribute__((noreturn));

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
	uint32_t frame[3] = { 0, a.fn, a.arg };
	uint32_t sp;

	free(varg);
	if (ustack_create(t) < 0)
		thread_exit(-ENOMEM);
	sp = t->ustack_top - sizeof(frame);
	if (ucopy_out(sp, frame, sizeof(frame)) < 0)
		sys_thread_exit(-EFAULT);
	enter_user(a.start, sp, t->stack + t->stack_pages * PAGE_SIZE);
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

/* The join itself looks tid up in this process under proc_lock
 * (thread_join_tid): a thread found is never one another joiner frees
 * meanwhile. Its stack pages came back when it exited (sys_thread_exit). */
static int32_t sys_thread_join(int32_t tid, uint32_t uvalue)
{
	int value;

	if (uvalue && ucheck(uvalue, sizeof(int), 1) < 0)
		return -EFAULT;
	if (thread_join_tid(tid, &value) < 0)
		return -EINVAL;
	if (uvalue && ucopy_out(uvalue, &value, sizeof(int)) < 0)
		return -EFAULT;		/* unmapped meanwhile: the join is done */
	return 0;
}

/* The user stack goes now (the thread runs on its kernel stack from here
 * on); the kernel stack and struct go at the join or the reaping. */
static void __attribute__((noreturn)) sys_thread_exit(int value)
{
	struct thread *t = current_thread();
	uintptr_t block = t->ustack_block;

	t->ustack_block = t->ustack_top = t->ustack_low = t->ustack_guard = 0;
	ustack_free(t->process, block);
	thread_exit(value);
}

/* ---- system calls ---- */

#define WRITE_CHUNK	128	/* bytes copied in at a time by write */
#define READ_CHUNK	128	/* at most this much per read */
#define INPUT_MAX	512	/* the test input buffer */

/* Console input for read: bytes given by uinput_feed (tests) come first,
 * then the serial line. Under input_lock. */
static struct lock input_lock = LOCK_INIT("input", INPUT_RANK);
static char input[INPUT_MAX];
static size_t input_len;

size_t uinput_feed(const char *s, size_t n)
{
	lock_acquire(&input_lock);
	if (n > INPUT_MAX - input_len)
		n = INPUT_MAX - input_len;
	memcpy(input + input_len, s, n);
	input_len += n;
	lock_release(&input_lock);
	return n;
}

size_t uinput_pending(void)
{
	return input_len;
}

/* Up to max bytes of fed input, to the first newline: how many. */
static size_t input_take(char *dst, size_t max)
{
	size_t n = 0;

	lock_acquire(&input_lock);
	while (n < max && n < input_len && (n == 0 || dst[n - 1] != '\n')) {
		dst[n] = input[n];
		n++;
	}
	memmove(input, input + n, input_len - n);
	input_len -= n;
	lock_release(&input_lock);
	return n;
}

/* Puts n bytes taken by input_take back in front: nothing was consumed. */
static void input_untake(const char *src, size_t n)
{
	lock_acquire(&input_lock);
	if (n > INPUT_MAX - input_len)
		n = INPUT_MAX - input_len;
	memmove(input + n, input, input_len);
	memcpy(input, src, n);
	input_len += n;
	lock_release(&input_lock);
}

/* Serial input up to max bytes, to a newline (\r comes as \n), without
 * waiting once one byte came: how many. */
static size_t serial_take(char *dst, size_t max)
{
	size_t n = 0;
	int c;

	while (n < max && (n == 0 || dst[n - 1] != '\n') && (c = console_getc()) >= 0)
		dst[n++] = c == '\r' ? '\n' : (char)c;
	return n;
}

/*
 * read(buf, len): waits for input (a tick at a time, so a kill ends the
 * wait), then copies up to len bytes, at most one line, into buf. Check,
 * then act: a bad buf is -EFAULT before anything is consumed, and a copy
 * that fails (buf unmapped meanwhile, or no memory to grow the stack it is
 * in) puts the bytes back.
 */
static int32_t sys_read(uint32_t buf, uint32_t len)
{
	char chunk[READ_CHUNK];
	size_t n;

	if (ucheck(buf, len, 1) < 0)
		return -EFAULT;
	if (len == 0)
		return 0;
	if (len > READ_CHUNK)
		len = READ_CHUNK;
	while (!(n = input_take(chunk, len)) && !(n = serial_take(chunk, len))) {
		if (current_process()->killed)
			return -EINTR;
		sleep_ticks(1);
	}
	if (ucopy_out(buf, chunk, n) < 0) {
		input_untake(chunk, n);
		return -EFAULT;
	}
	return n;
}

/* Through a kernel buffer, a chunk at a time: the whole range is checked
 * first, so only a page unmapped meanwhile by another thread of the
 * process can cut it short (the count written so far, as in Unix). */
static int32_t sys_write(uint32_t buf, uint32_t len)
{
	char chunk[WRITE_CHUNK];
	uint32_t done;

	if (ucheck(buf, len, 0) < 0)
		return -EFAULT;
	for (done = 0; done < len;) {
		uint32_t n = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
		if (ucopy_in(chunk, buf + done, n) < 0)
			return done ? (int32_t)done : -EFAULT;
		for (uint32_t i = 0; i < n; i++)
			console_putc(chunk[i]);
		done += n;
	}
	return len;
}

/* The name and the arguments are copied into the kernel (one malloc'd
 * buffer) before spawn reads them. */
struct spawn_copy {
	char name[PROG_NAME_MAX];
	char strings[SPAWN_ARGLEN_MAX];
	const char *argv[SPAWN_ARGS_MAX];
};

static int32_t spawn_copied(struct spawn_copy *c, uint32_t uname, uint32_t uargv)
{
	size_t used = 0;
	int argc, n;

	if ((n = ucopy_str(c->name, uname, PROG_NAME_MAX)) < 0)
		return n;
	for (argc = 0;; argc++) {
		uint32_t s;
		if (ucopy_in(&s, uargv + 4 * argc, 4) < 0)
			return -EFAULT;
		if (!s)
			break;
		if (argc == SPAWN_ARGS_MAX)
			return -E2BIG;
		if ((n = ucopy_str(c->strings + used, s, SPAWN_ARGLEN_MAX - used)) < 0)
			return n == -EINVAL ? -E2BIG : n;
		c->argv[argc] = c->strings + used;
		used += n + 1;
	}
	if (argc == 0)
		return -EINVAL;
	return spawn(c->name, argc, c->argv);
}

static int32_t sys_spawn(uint32_t uname, uint32_t uargv)
{
	struct spawn_copy *c;
	int32_t r;

	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = spawn_copied(c, uname, uargv);
	free(c);
	return r;
}

static int32_t sys_wait(int32_t pid, uint32_t ustatus)
{
	int status;

	if (ustatus && ucheck(ustatus, sizeof(int), 1) < 0)
		return -EFAULT;
	if ((pid = process_wait(pid, &status)) < 0)
		return -ECHILD;
	if (ustatus && ucopy_out(ustatus, &status, sizeof(int)) < 0)
		return -EFAULT;		/* unmapped meanwhile: the child is reaped */
	return pid;
}

static int32_t sys_pages(uint32_t upc)
{
	struct page_counts pc;
	struct sys_pages sp;

	if (ucheck(upc, sizeof(sp), 1) < 0)
		return -EFAULT;
	page_counts(&pc);
	sp.phys_free = pc.phys_free;
	sp.kvirt_free = pc.kvirt_free;
	return ucopy_out(upc, &sp, sizeof(sp));
}

static int32_t syscall(struct trapframe *tf)
{
	switch (tf->eax) {
	case SYS_WRITE:		return sys_write(tf->ebx, tf->ecx);
	case SYS_READ:		return sys_read(tf->ebx, tf->ecx);
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
	case SYS_THREAD_EXIT:	sys_thread_exit((int)tf->ebx);
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
