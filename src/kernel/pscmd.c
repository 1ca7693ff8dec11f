//@ LAB 7 FILE
/* The monitor's ps command: processes, then threads (lab 8: a running
 * thread's state names its CPU, running:N). */
#include "kernel/cpu.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/monitor.h"
#include "kernel/pit.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/thread.h"

static void print_process(struct process *p)
{
	printk("  %3d %4d %-7s %-16s %d\n", p->pid, p->parent ? p->parent->pid : -1,
	       process_state_name(p->state), p->name, p->live_threads);
}

static void print_thread(struct thread *t)
{
	char state[32];

	if (t->state == THREAD_BLOCKED && t->waiting)
		snprintf(state, sizeof(state), "blocked:%s", t->waiting->name);
	else
		snprintf(state, sizeof(state), "%s", thread_state_name(t->state));

	//@ LAB 8 BEGIN
	/* Lab 8: a running thread runs on one CPU (the one whose current it is). */
	for (int i = 0; i < ncpu && t->state == THREAD_RUNNING; i++)
		if (cpus[i].current == t)
			snprintf(state, sizeof(state), "running:%d", i);
	//@ LAB 8 END
	printk("  %3d %4d %-13s %-16s 0x%08x-0x%08x %u", t->tid, t->process->pid, state,
	       t->name, t->stack, t->stack + t->stack_pages * PAGE_SIZE, t->ticks);
	if (t->ustack_top)	/* a user thread: its user stack (lab 7 part 2) */
		printk("  user stack 0x%08x-0x%08x, %u of %u pages mapped",
		       t->ustack_guard + PAGE_SIZE, t->ustack_top,
		       (unsigned)((t->ustack_top - t->ustack_low) / PAGE_SIZE),
		       (unsigned)((t->ustack_top - t->ustack_guard) / PAGE_SIZE - 1));
	printk("\n");
}

MONITOR_COMMAND(ps, "list processes and threads")
{
	uint32_t switches = 0, cr3_loads = 0;

	(void)argc, (void)argv;
	/* A consistent picture: nothing switches while it is printed. */
	irq_push();
	/* The counters are per CPU (lab 8): the whole machine's is their sum. */
	for (int i = 0; i < ncpu; i++) {
		switches += cpus[i].switches;
		cr3_loads += cpus[i].cr3_loads;
	}
	printk("ticks %u, %u context switches (%u loaded another directory)\n",
	       pit_ticks(), switches, cr3_loads);
	printk("  PID PPID STATE   NAME             THREADS\n");
	for (struct process *p = all_processes; p; p = p->all_next)
		print_process(p);
	printk("  TID  PID STATE         NAME             KERNEL STACK          TICKS\n");
	for (struct thread *t = all_threads; t; t = t->all_next)
		print_thread(t);
	irq_pop();
	return 0;
}

MONITOR_COMMAND(sleep, "sleep TICKS: the monitor's thread sleeps (the idle thread runs)")
{
	uint32_t n;

	if (argc != 2) {
		printk("usage: sleep TICKS\n");
		return 0;
	}
	if (monitor_number("sleep", argv[1], &n) < 0)
		return 0;
	sleep_ticks(n);
	printk("slept %u ticks\n", n);
	return 0;
}
