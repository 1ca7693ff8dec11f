//@ LAB 7 FILE
/*
 * Kernel threads (lab 7).
 *
 * Every thread has a 1-page kernel stack in the kernel virtual ranges with
 * the page below it reserved and never mapped: the guard. A thread that
 * overflows its stack touches the guard, and the page fault that follows
 * cannot be delivered on the same stack: that double fault is reported by
 * dfault.c on a stack of its own.
 *
 *   stack + PAGE_SIZE  +---------------------------+  <- TSS esp0 while it runs
 *                      | the thread's frames ...   |
 *                      |            |              |
 *                      |            v              |
 *   stack              +---------------------------+
 *                      | guard: reserved, unmapped |
 *   stack - PAGE_SIZE  +---------------------------+
 *
 * A thread that is not running has its callee-saved registers on its stack
 * (struct context, pushed by switch_threads) and context points at them.
 *
 * Lifetime (process.h: thread_create, thread_exit, thread_join): a thread
 * ends with thread_exit(value), or by returning value from its function. A
 * kernel-process thread must be joined (thread_join frees it); a thread of
 * another process is freed by thread_join or, at the latest, when its
 * process is reaped (process_wait).
 */
#ifndef STRATA_THREAD_H
#define STRATA_THREAD_H

#include <stddef.h>
#include <stdint.h>

#define THREAD_NAME_MAX	16

struct thread;
struct pagedir;
struct process;

/* A wait queue: threads BLOCKED until a waitq_wakeup (sched.h). */
struct waitq {
	const char *name;	/* shown by ps and strata-threads */
	struct thread *head, *tail;
};

#define WAITQ_INIT(nm)	{ .name = (nm), .head = 0, .tail = 0 }

enum thread_state { THREAD_RUNNABLE, THREAD_RUNNING, THREAD_BLOCKED, THREAD_DEAD };

/* What switch_threads leaves on a stack it switched away from, lowest
 * address first: the callee-saved registers, then switch_threads' return
 * address. */
struct context {
	uint32_t edi, esi, ebx, ebp;
	uint32_t eip;
};

struct thread {
	int tid;
	char name[THREAD_NAME_MAX];
	enum thread_state state;	/* under sched_lock */
	int on_cpu;			/* its stack is in use (until the switch away is done) */
	struct context *context;	/* saved stack pointer while not running */
	uintptr_t stack;		/* lowest address of the kernel stack */
	size_t stack_pages;		/* 1; 4 for the boot thread (the boot stack) */
	struct process *process;
	struct pagedir *pagedir;	/* its process's, loaded while it runs */
	struct thread *next;		/* run queue or wait queue link (sched_lock) */
	struct waitq *waiting;		/* the queue it is blocked on, or NULL */
	int slice;			/* ticks left in its time slice */
	uint32_t ticks;			/* timer ticks it has run */
	/* Under proc_lock (process.c): */
	struct thread *proc_next;	/* its process's threads */
	struct thread *all_next;	/* every thread (ps, strata-threads) */
	int exit_value;
	int joined;			/* someone joins (or has joined) it */
	struct waitq exited;		/* its joiner waits here */
	/* Its user stack (uvm.c), 0 for a kernel thread: the guard page at
	 * ustack_guard, USTACK_PAGES reserved above it up to ustack_top, of
	 * which [ustack_low, ustack_top) is mapped; ustack_block is the
	 * vpalloc'd block they are in (USTACK_BLOCK pages). */
	uintptr_t ustack_block, ustack_guard, ustack_low, ustack_top;
};

typedef int (*thread_fn)(void *arg);

/* A new thread that will run fn(arg): its guarded stack and first frame,
 * RUNNABLE but in no process and on no queue yet (process.c adds it, with
 * thread_create); NULL when out of memory. thread_setup does the same in a
 * struct the caller owns (the idle threads) and returns 0 or -1. */
struct thread *thread_alloc(const char *name, thread_fn fn, void *arg);
int thread_setup(struct thread *t, const char *name, thread_fn fn, void *arg);
/* Frees a dead thread's stack and struct (join, process teardown). */
void thread_free(struct thread *t);
const char *thread_state_name(enum thread_state s);

/* switch.S. switch_threads saves the callee-saved registers on the current
 * stack, stores the stack pointer in *save, loads load as the stack pointer
 * and restores the registers saved there: it returns on the other thread's
 * stack. thread_start is where every thread begins: the first frame
 * "returns" into it; it calls sched_first_run(), fn(arg), then
 * thread_exit with fn's value. */
void switch_threads(struct context **save, struct context *load);
void thread_start(void);

#endif
