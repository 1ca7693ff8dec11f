//@ LAB 8 FILE
/*
 * The monitor's cpus command (lab 8): one line per CPU in use, with its
 * APIC ID, whether it is online, its LAPIC timer's ticks, the thread it
 * runs and the locks it holds (of those in kernel data, lock_known's
 * list: a lock in allocated memory is not shown). The other CPUs go on
 * running while it prints: each line is a snapshot of that CPU, read
 * without stopping it, so a thread or a lock can change just after.
 */
#include "kernel/cpu.h"
#include "kernel/lock.h"
#include "kernel/monitor.h"
#include "kernel/printk.h"
#include "kernel/thread.h"

/* The names of the known locks c holds, space-separated, or "-". */
static void held_by(struct cpu *c, char *buf, int size)
{
	int len = 0;

	buf[0] = 0;
	for (struct lock *lk = lock_known(0); lk && len < size; lk = lock_known(lk))
		if (lk->holder == c)
			len += snprintf(buf + len, size - len, "%s%s", len ? " " : "", lk->name);
	if (!buf[0])
		snprintf(buf, size, "-");
}

static void print_cpu(struct cpu *c, int self)
{
	struct thread *t = c->current;	/* one read: it may change meanwhile */
	char who[40], locks[80];

	if (t)
		snprintf(who, sizeof(who), "%d '%s'", t->tid, t->name);
	else
		snprintf(who, sizeof(who), "-");
	held_by(c, locks, sizeof(locks));
	printk("%c %3d %4d %-7s %8u  %-20s %s\n", self ? '*' : ' ', c->id, c->apic_id,
	       c->online ? "online" : "off", c->ticks, who, locks);
}

MONITOR_COMMAND(cpus, "list the CPUs: APIC ID, ticks, the thread each runs, locks held")
{
	int self;

	(void)argc, (void)argv;
	irq_push();
	self = cpu_id();
	irq_pop();
	printk("%d CPU%s in use (* the monitor's)\n", ncpu, ncpu == 1 ? "" : "s");
	printk("  CPU APIC STATE      TICKS  THREAD               LOCKS\n");
	for (int i = 0; i < ncpu; i++)
		print_cpu(&cpus[i], i == self);
	return 0;
}
