//@ LAB 7 FILE
/*
 * Threads: the guarded 1-page kernel stack and the first frame. Scheduling
 * is in sched.c; creation in a process, exit and join in process.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/thread.h"
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"


const char *thread_state_name(enum thread_state s)
{
	static const char *const names[] = { "runnable", "running", "blocked", "dead" };

	return (unsigned)s < 4 ? names[s] : "?";
}

/* One page of kernel stack with an unmapped guard page below it: two
 * reserved virtual pages (a buddy block of two: the pair is aligned, so
 * stacks never share a guard), the upper one mapped. */
static int stack_alloc(struct thread *t)
{
	uintptr_t va, pa;

	if (!vpalloc(NULL, 2, 2, &va))
		return -1;
	if (!ppalloc(1, 1, &pa)) {
		vpfree(NULL, va, 2);
		return -1;
	}
	if (map_mem(NULL, pa, va + PAGE_SIZE, 1, PTE_PRESENT | PTE_WRITABLE) < 0) {
		ppfree(pa, 1);
		vpfree(NULL, va, 2);
		return -1;
	}
	t->stack = va + PAGE_SIZE;
	t->stack_pages = 1;
	return 0;
}

static void stack_free(struct thread *t)
{
	uintptr_t pa;
	uint32_t flags;

	if (vm_translate(NULL, t->stack, &pa, &flags) < 0)
		panic("stack_free: thread %d's stack 0x%08x is not mapped", t->tid, t->stack);
	//@ LAB 8 BEGIN
	if (unmap_lazy(t->stack, 1, t->stack - PAGE_SIZE, 2))
		return;		/* freed once every CPU has flushed (paging.h) */
	//@ LAB 8 END

	map_mem(NULL, 0, t->stack, 1, 0);
	ppfree(pa, 1);
	vpfree(NULL, t->stack - PAGE_SIZE, 2);
}

/*
 * The stack of a new thread, built so that the first switch_threads to it
 * "returns" into thread_start (switch.S) with fn and arg above a return
 * address of 0, as if it had been called from address 0 (which ends
 * backtraces):
 *
 *   stack + PAGE_SIZE ->  +------------------+
 *                         | arg              |  thread_start's arguments
 *                         | fn               |
 *                         | 0                |  its return address: none
 *                         | eip=thread_start |  struct context, popped by
 *                         | ebp = 0          |  switch_threads
 *                         | ebx = 0          |
 *                         | esi = 0          |
 *   t->context ------->   | edi = 0          |
 *                         +------------------+
 */
static void build_first_frame(struct thread *t, thread_fn fn, void *arg)
{
	//@ LAB 7 BEGIN
	uint32_t *sp = (uint32_t *)(t->stack + t->stack_pages * PAGE_SIZE);
	struct context *c;

	*--sp = (uint32_t)arg;
	*--sp = (uint32_t)fn;
	*--sp = 0;
	c = (struct context *)sp - 1;
	c->edi = c->esi = c->ebx = c->ebp = 0;
	c->eip = (uint32_t)thread_start;
	t->context = c;
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 2: the first frame of a new thread (handouts/lab7-threads.md). */
	//@ (void)fn, (void)arg, (void)thread_start;
	//@ t->context = NULL;
	//@ LAB 7 END
}

int thread_setup(struct thread *t, const char *name, thread_fn fn, void *arg)
{
	int err;

	err = stack_alloc(t);
	if (err < 0)
		return -1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->exited = (struct waitq)WAITQ_INIT("join");
	t->state = THREAD_RUNNABLE;
	build_first_frame(t, fn, arg);
	return 0;
}

struct thread *thread_alloc(const char *name, thread_fn fn, void *arg)
{
	struct thread *t;

	t = calloc(1, sizeof(*t));
	if (t && thread_setup(t, name, fn, arg) < 0) {
		free(t);
		t = NULL;
	}
	return t;
}

void thread_free(struct thread *t)
{
	while (t->on_cpu)	/* lab 8: another CPU may still be switching away */
		__asm__ volatile("pause" ::: "memory");
	stack_free(t);
	free(t);
}
