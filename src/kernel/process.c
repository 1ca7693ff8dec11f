//@ LAB 7 FILE
/*
 * Processes: creation, exit, wait and teardown; the threads of a process:
 * creation, exit, join; the process and thread lists. See process.h for
 * the lifetimes and the locks.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/sched.h"
#include "kernel/thread.h"
//@ LAB 8 BEGIN
#include "kernel/tlb.h"
//@ LAB 8 END
#include "mm/ppalloc.h"
#include "mm/vpalloc.h"
#include "mm/kvmalloc.h"
#include "mm/malloc.h"
#include "mm/paging.h"

/* Every process's fields and thread list, the process and thread lists.
 * Taken before sched_lock. */
static struct lock proc_lock = LOCK_INIT("proc", PROC_RANK);
static struct process kernel_process;
static struct thread boot_thread;
/* The parent of every orphan (a child whose parent ended): its one thread,
 * the reaper, waits for them as a parent would. Made with the first
 * process (not at boot: the earlier labs' tests run with one thread). */
static struct process orphanage = {
	.pid = -1, .name = "orphanage", .child_exit = WAITQ_INIT("orphans"),
};
static int reaper_made;
struct process *all_processes;
struct thread *all_threads;
static int next_pid, next_tid = 1;

extern char boot_stack[];

const char *process_state_name(enum process_state s)
{
	return s == PROCESS_ZOMBIE ? "zombie" : "alive";
}

struct process *current_process(void)
{
	return current_thread()->process;
}

struct pagedir *process_pagedir(struct process *p)
{
	return p->pagedir;
}

struct process *process_find(int pid)
{
	struct process *p;

	lock_acquire(&proc_lock);
	for (p = all_processes; p && p->pid != pid; p = p->all_next)
		;
	lock_release(&proc_lock);
	return p;
}

void page_counts(struct page_counts *pc)
{
	struct ppstats st;

	//@ LAB 8 BEGIN
	unmap_lazy_flush();	/* pages freed lazily are free (paging.h) */
	//@ LAB 8 END
	ppstats(&st);
	pc->phys_free = st.free;
	pc->kvirt_free = vpfree_count(NULL);
}

static void add_thread(struct process *p, struct thread *t);

void process_init(void)
{
	struct process *k = &kernel_process;
	struct thread *boot = &boot_thread;

	k->pid = next_pid++;
	snprintf(k->name, sizeof(k->name), "kernel");
	k->pagedir = kernel_pagedir();
	waitq_init(&k->child_exit, "wait");
	all_processes = k;
	boot->stack = (uintptr_t)boot_stack;
	boot->stack_pages = BOOT_STACK_SIZE / PAGE_SIZE;
	snprintf(boot->name, sizeof(boot->name), "main");
	waitq_init(&boot->exited, "join");
	add_thread(k, boot);
	add_thread(k, sched_init(boot));
}

//@ LAB 8 BEGIN
void process_add_kernel_thread(struct thread *t)
{
	add_thread(&kernel_process, t);
}
//@ LAB 8 END

static void add_thread(struct process *p, struct thread *t)
{
	lock_acquire(&proc_lock);
	t->tid = next_tid++;
	t->process = p;
	t->pagedir = p->pagedir;
	t->proc_next = p->threads;
	p->threads = t;
	p->live_threads++;
	t->all_next = all_threads;
	all_threads = t;
	lock_release(&proc_lock);
}

/* Takes t off its process's list and the list of all threads. */
static void unlink_thread(struct thread *t)
{
	struct thread **pp;

	for (pp = &t->process->threads; *pp != t; pp = &(*pp)->proc_next)
		;
	*pp = t->proc_next;
	for (pp = &all_threads; *pp != t; pp = &(*pp)->all_next)
		;
	*pp = t->all_next;
}

static void unlink_process(struct process *p)
{
	struct process **pp;

	for (pp = &p->parent->children; *pp != p; pp = &(*pp)->sibling)
		;
	*pp = p->sibling;
	for (pp = &all_processes; *pp != p; pp = &(*pp)->all_next)
		;
	*pp = p->all_next;
	for (struct thread *t = p->threads; t; t = t->proc_next) {
		struct thread **tp;
		for (tp = &all_threads; *tp != t; tp = &(*tp)->all_next)
			;
		*tp = t->all_next;
	}
}

/* p's last thread has ended: p waits for its parent. Its children, alive
 * or zombies, go to the orphanage. Under proc_lock. */
static void become_zombie(struct process *p)
{
	struct process *c;

	p->state = PROCESS_ZOMBIE;
	while ((c = p->children)) {
		p->children = c->sibling;
		c->parent = &orphanage;
		c->sibling = orphanage.children;
		orphanage.children = c;
		waitq_wakeup(&orphanage.child_exit);
	}
	waitq_wakeup(&p->parent->child_exit);
}

struct thread *thread_create_in(struct process *p, const char *name, thread_fn fn,
				void *arg)
{
	struct thread *t = thread_alloc(name, fn, arg);

	if (!t)
		return NULL;
	add_thread(p, t);
	sched_start(t);
	return t;
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg)
{
	return thread_create_in(current_process(), name, fn, arg);
}

struct thread *thread_find(int tid)
{
	struct thread *t;

	lock_acquire(&proc_lock);
	for (t = all_threads; t && t->tid != tid; t = t->all_next)
		;
	lock_release(&proc_lock);
	return t;
}

void thread_exit(int value)
{
	struct thread *t = current_thread();
	struct process *p = t->process;

	lock_acquire(&proc_lock);
	t->exit_value = value;
	if (--p->live_threads == 0 && p != &kernel_process) {
		if (!p->status_set)
			p->exit_status = value;
		become_zombie(p);
	}
	waitq_wakeup(&t->exited);
	sched_exit(&proc_lock);
}

/* The join, once t is found under proc_lock (held; released on return).
 * Inlined, so a joiner's backtrace stays sched <- waitq_sleep <- thread_join. */
static inline __attribute__((always_inline)) int join_locked(struct thread *t, int *value)
{
	struct thread *self = current_thread();

	if (!t || t == self || t->process != self->process || t->joined) {
		lock_release(&proc_lock);
		return -1;
	}
	t->joined = 1;
	while (t->state != THREAD_DEAD)
		waitq_sleep(&t->exited, &proc_lock);
	if (value)
		*value = t->exit_value;
	unlink_thread(t);
	lock_release(&proc_lock);
	thread_free(t);
	return 0;
}

int thread_join(struct thread *t, int *value)
{
	lock_acquire(&proc_lock);
	return join_locked(t, value);
}

int thread_join_tid(int tid, int *value)
{
	struct thread *t;

	lock_acquire(&proc_lock);
	for (t = current_process()->threads; t && t->tid != tid; t = t->proc_next)
		;
	return join_locked(t, value);
}

/* A new process's memory. */
static struct process *process_alloc(const char *name)
{
	size_t n_pages = (UVIRT_END - UVIRT_START) >> PAGE_SHIFT;
	struct process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vpa_meta_pages = PAGE_ROUNDUP(vpmeta_size(n_pages)) / PAGE_SIZE;
	if (!kvmalloc(p->vpa_meta_pages, p->vpa_meta_pages, &p->vpa_meta))
		goto no_meta;
	if (vpcreate(&p->vpa, UVIRT_START, n_pages, (void *)p->vpa_meta) < 0)
		panic("process_alloc: vpcreate of the user ranges failed");
	if (!(p->pagedir = pagedir_create()))
		goto no_pagedir;
	snprintf(p->name, sizeof(p->name), "%s", name);
	waitq_init(&p->child_exit, "wait");
	return p;
no_pagedir:
	kvfree(p->vpa_meta, p->vpa_meta_pages);
no_meta:
	free(p);
	return NULL;
}

static int reaper_main(void *arg) __attribute__((noreturn));

static void make_reaper(void)
{
	int first;

	lock_acquire(&proc_lock);
	first = !reaper_made;
	reaper_made = 1;
	lock_release(&proc_lock);
	if (first && !thread_create_in(&kernel_process, "reaper", reaper_main, 0))
		panic("make_reaper: out of memory");
}

int process_create(const char *name, thread_fn fn, void *arg)
{
	struct process *p, *parent = current_process();
	struct thread *t;
	int pid;

	make_reaper();
	p = process_alloc(name);
	if (!p)
		return -1;
	if (!(t = thread_alloc(name, fn, arg))) {
		pagedir_destroy(p->pagedir);
		kvfree(p->vpa_meta, p->vpa_meta_pages);
		free(p);
		return -1;
	}
	lock_acquire(&proc_lock);
	pid = p->pid = next_pid++;
	p->parent = parent;
	p->sibling = parent->children;
	parent->children = p;
	p->all_next = all_processes;
	all_processes = p;
	lock_release(&proc_lock);
	add_thread(p, t);
	sched_start(t);
	return pid;
}

void process_exit(int status)
{
	struct process *p = current_process();

	lock_acquire(&proc_lock);
	if (!p->status_set) {
		p->exit_status = status;
		p->status_set = 1;
	}
	lock_release(&proc_lock);
	thread_exit(status);
}

void process_kill(struct process *p, int status)
{
	lock_acquire(&proc_lock);
	if (!p->status_set) {
		p->exit_status = status;
		p->status_set = 1;
	}
	p->killed = 1;
	lock_release(&proc_lock);
}

/* Every user page of pd: each present user PTE's page came from its own
 * ppalloc(1, 1) (process.h). */
static void free_user_pages(struct pagedir *pd)
{
	//@ LAB 8 BEGIN
	/* Its threads are gone, but a CPU still finishing the last one's exit
	 * may have pd loaded: it flushes (all of it) before a page is freed. */
	tlb_shootdown(pd->phys, 0, USER_PDES * 1024);
	//@ LAB 8 END

	for (unsigned i = 0; i < USER_PDES; i++) {
		uint32_t *table = pd->vpdes[i].table;
		if (!table)
			continue;
		for (unsigned j = 0; j < 1024; j++) {
			if (table[j] & PTE_PRESENT)
				ppfree(PTE_ADDR(table[j]), 1);
			table[j] = 0;
		}
	}
}

/*
 * Returns every page of the zombie p, which is on no list any more: its
 * threads' stacks and structs, its user pages and page tables, its
 * directory, its vpallocator's metadata, the struct itself.
 */
static void teardown(struct process *p)
{
	//@ LAB 7 BEGIN
	struct thread *t;

	while ((t = p->threads)) {
		p->threads = t->proc_next;
		if (t == &boot_thread)
			panic("teardown: the boot thread");
		thread_free(t);
	}
	free_user_pages(p->pagedir);
	pagedir_destroy(p->pagedir);
	kvfree(p->vpa_meta, p->vpa_meta_pages);
	free(p);
	//@ LAB 7 STUB
	//@ /* LAB 7 exercise 4: give back every page of p (handouts/lab7-threads.md). */
	//@ (void)p, (void)free_user_pages;
	//@ LAB 7 END
}

/* process_wait for the children of self. */
static int wait_child(struct process *self, int pid, int *status)
{
	struct process *c;
	int found;

	lock_acquire(&proc_lock);
	for (;;) {
		found = 0;
		for (c = self->children; c; c = c->sibling) {
			if (pid != -1 && c->pid != pid)
				continue;
			found = 1;
			if (c->state == PROCESS_ZOMBIE)
				break;
		}
		if (c || !found)
			break;
		waitq_sleep(&self->child_exit, &proc_lock);
	}
	if (!c) {
		lock_release(&proc_lock);
		return -1;
	}
	unlink_process(c);
	lock_release(&proc_lock);
	pid = c->pid;
	if (status)
		*status = c->exit_status;
	teardown(c);
	return pid;
}

int process_wait(int pid, int *status)
{
	return wait_child(current_process(), pid, status);
}

/* The orphanage's thread: reaps every orphan that ends. */
static int reaper_main(void *arg)
{
	(void)arg;
	for (;;) {
		lock_acquire(&proc_lock);
		while (!orphanage.children)
			waitq_sleep(&orphanage.child_exit, &proc_lock);
		lock_release(&proc_lock);
		wait_child(&orphanage, -1, NULL);
	}
}
