//@ LAB 7 FILE
/*
 * Processes (lab 7). A process is an address space and the threads that
 * run in it:
 *
 *   struct process
 *   +-------------------+      +--------------------------------------+
 *   | pagedir ----------+----> | struct pagedir (pagedir_create):     |
 *   |                   |      | user half its own, kernel half shared|
 *   | vpa               |      +--------------------------------------+
 *   |  (user ranges     |
 *   |   UVIRT_START ..  |      threads ---> thread ---> thread ---> NULL
 *   |   UVIRT_END)      |                  (proc_next links)
 *   | parent, children  |
 *   | state, status     |      children --> process --> process (sibling)
 *   +-------------------+
 *
 * The kernel process (pid 0) has the kernel directory (no user half of its
 * own) and the kernel threads: main, idle, the monitor's and the tests'.
 *
 * Lifetime: process_create makes a process whose first thread runs
 * fn(arg). The process ends when its last thread ends; its exit status is
 * the value given to process_exit, or else its last thread's exit value. It
 * is then a ZOMBIE until its parent's process_wait reaps it, which returns
 * every page it had: threads' stacks, user pages, page tables, directory,
 * the vpallocator's metadata, the structs. Children of a process that ends
 * become orphans: their parent is the orphanage (pid -1), whose reaper
 * thread (a kernel thread made with the first process) reaps them.
 *
 * Every user page mapped in a process's directory belongs to it and came
 * from its own ppalloc(1, 1): teardown frees each present user PTE's page.
 *
 * Locks, in order (lock.h has the whole order; each is taken before the
 * memory layers' and the scheduler's):
 *   rank 10  proc (process.c): the process list, every process's fields
 *            and thread list, and each thread's proc_next/all_next/
 *            exit_value/joined.
 *   rank 12  uvm (uvm.c): user address spaces: a user page's mapping and
 *            its frame together, a process's brk and stack blocks.
 *   rank 14  initrd (initrd.c): mapping the archive once.
 *   rank 16  input (syscall.c): the fed console input read() takes; held
 *            only to copy between kernel buffers, takes no other lock.
 */
#ifndef STRATA_PROCESS_H
#define STRATA_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/sched.h"
#include "kernel/thread.h"
#include "mm/vpalloc.h"

#define PROC_RANK	10
#define UVM_RANK	12
#define INITRD_RANK	14
#define INPUT_RANK	16

#define PROCESS_NAME_MAX	16

enum process_state { PROCESS_ALIVE, PROCESS_ZOMBIE };

struct process {
	int pid;
	char name[PROCESS_NAME_MAX];
	enum process_state state;
	struct pagedir *pagedir;
	struct vpallocator vpa;		/* user virtual ranges; not in the kernel process */
	uintptr_t vpa_meta;		/* its metadata, vpa_meta_pages from kvmalloc */
	size_t vpa_meta_pages;
	struct thread *threads;		/* threads not yet freed */
	int live_threads;		/* of which not DEAD */
	struct process *parent;
	struct process *children;	/* linked by sibling */
	struct process *sibling;
	struct waitq child_exit;	/* its process_wait sleeps here */
	int exit_status;
	int status_set;			/* process_exit gave the status */
	struct process *all_next;	/* every process, for ps and strata-threads */
	/* User mode (uvm.c, syscall.c): the heap [heap_start, brk), after the
	 * binary; killed: a fault ended it, its threads exit where they next
	 * enter the kernel from user mode. */
	uintptr_t heap_start, brk;
	int killed;
};

extern struct process *all_processes;
/* Every thread not yet freed, newest first (under proc_lock). */
extern struct thread *all_threads;

/* The kernel process (pid 0): the running boot context becomes its thread
 * 1 'main' (on the boot stack, BOOT_STACK_SIZE, the one stack without a
 * guard page), and this CPU's idle thread is made; the timer may then
 * preempt. */
void process_init(void);
//@ LAB 8 BEGIN
/* An AP's idle thread (smp.c) joins the kernel process (ps, strata-threads). */
void process_add_kernel_thread(struct thread *t);
//@ LAB 8 END

/* ---- threads ---- */

/* A new thread of the current thread's process running fn(arg); NULL when
 * out of memory (nothing stays allocated). */
struct thread *thread_create(const char *name, thread_fn fn, void *arg);
/* The same in process p. */
struct thread *thread_create_in(struct process *p, const char *name, thread_fn fn,
				void *arg);
void thread_exit(int value) __attribute__((noreturn));
/* Waits for t (a thread of the caller's process, not the caller, not
 * joined before) to exit; stores its exit value, frees it. Returns 0, or -1
 * (nothing done) if t may not be joined. */
int thread_join(struct thread *t, int *value);
/* The same for the thread tid of the caller's process, looked up under
 * the lock the join holds (a thread found by thread_find may be joined and
 * freed by another thread before the caller uses it): 0 or -1. */
int thread_join_tid(int tid, int *value);
/* The thread tid, or NULL (the monitor, tests). */
struct thread *thread_find(int tid);

/* ---- processes ---- */

/* A new process, child of the current one, whose first thread runs fn(arg)
 * in the kernel (user mode is lab 7 part 2). Returns its pid, or -1 when
 * out of memory (nothing stays allocated). */
int process_create(const char *name, thread_fn fn, void *arg);
/* Ends the calling thread's process with status: the calling thread exits
 * now. (The process's other threads run on until they exit; part 2 kills
 * them where they return to user mode.) */
void process_exit(int status) __attribute__((noreturn));
/* Marks p killed with status (unless a status is set already): each of its
 * threads exits where it next leaves user mode or returns to it. */
void process_kill(struct process *p, int status);
/* Waits for the child pid (-1: any child) to end, reaps it and stores its
 * exit status. Returns the pid reaped, or -1 if pid is not a child of the
 * caller's process (never was, or already reaped) or it has no children. */
int process_wait(int pid, int *status);

struct process *current_process(void);
struct process *process_find(int pid);	/* NULL if none (for tests, ps) */
struct pagedir *process_pagedir(struct process *p);
const char *process_state_name(enum process_state s);

/* Free physical and kernel virtual page counts, for tests and ps. */
struct page_counts {
	size_t phys_free;
	size_t kvirt_free;
};
void page_counts(struct page_counts *pc);

#endif
