//@ LAB 7 FILE
/*
 * Lab 7 part 2: user mode. Each test spawns user programs (src/user/) from
 * the kernel process and waits for them. A user-fault test checks that the
 * program was killed (status -1), that the kernel goes on (a second program
 * runs afterwards) and that the free page counts are back to their values
 * from before the program ran.
 */
#include <stdint.h>

#include "kernel/cpu.h"
#include "kernel/ktest.h"
#include "kernel/layout.h"
#include "kernel/monitor.h"
#include "kernel/pit.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "kernel/syscall_abi.h"
#include "kernel/thread.h"
#include "lib/string.h"
#include "mm/ppalloc.h"

#define MAX_ARGS	4

/* Spawns name with up to 3 arguments (NULL ends them) and waits for it:
 * its status; the test fails if it cannot be spawned or waited for. */
static int run(const char *name, const char *a1, const char *a2, const char *a3)
{
	const char *argv[MAX_ARGS] = { name, a1, a2, a3 };
	int argc = 1, pid, status = -12345;

	while (argc < MAX_ARGS && argv[argc])
		argc++;
	pid = spawn(name, argc, argv);
	if (pid < 0)
		ktest_fail("spawn %s: %d", name, pid);
	if (process_wait(pid, &status) != pid)
		ktest_fail("wait for %s (pid %d) failed", name, pid);
	return status;
}

/* The first user process may keep a kernel page table and a heap arena
 * (kept by design), and maps the archive once: run one before measuring. */
static void warm_up(void)
{
	KEXPECT_EQ(run("hello", "warm-up", NULL, NULL), 0);
}

static int pages_equal(const struct page_counts *a, const struct page_counts *b)
{
	return a->phys_free == b->phys_free && a->kvirt_free == b->kvirt_free;
}

/* Runs the program, expecting status want, and checks the pages came back. */
static void run_expect(const char *name, const char *a1, const char *a2, const char *a3,
		       int want)
{
	struct page_counts before, after;
	int st;

	page_counts(&before);
	st = run(name, a1, a2, a3);
	page_counts(&after);
	if (st != want)
		ktest_fail("%s %s: status %d, expected %d", name, a1 ? a1 : "", st, want);
	if (!pages_equal(&before, &after))
		ktest_fail("%s %s: free pages %u/%u before, %u/%u after", name, a1 ? a1 : "",
			   before.phys_free, before.kvirt_free, after.phys_free, after.kvirt_free);
}

KTEST(user_hello)
{
	struct page_counts before, after;

	warm_up();
	page_counts(&before);
	KEXPECT_EQ(run("hello", "one", "two words", NULL), 0);
	page_counts(&after);
	printk("user_hello: free physical pages %u -> %u\n", before.phys_free, after.phys_free);
	KEXPECT(pages_equal(&before, &after));
}

static const char *const fault_kinds[] = {
	"nullread", "nullwrite", "nulljump", "textwrite", "divzero", "segload", "int14",
	"int3", "ud2", "cli", "hlt", "in", "out", "cr3", "popf",
};

KTEST(user_faults)
{
	struct page_counts first, last;
	unsigned n = sizeof(fault_kinds) / sizeof(fault_kinds[0]);

	warm_up();
	page_counts(&first);
	for (unsigned i = 0; i < n; i++) {
		run_expect("fault", fault_kinds[i], NULL, NULL, -1);
		run_expect("hello", "after", fault_kinds[i], NULL, 0);	/* the kernel goes on */
	}
	page_counts(&last);
	printk("user_faults: %u faults killed, free physical pages %u -> %u, "
	       "kernel virtual %u -> %u\n", n, first.phys_free, last.phys_free,
	       first.kvirt_free, last.kvirt_free);
	KEXPECT(pages_equal(&first, &last));
}

/* Reads, writes and jumps to addresses across the kernel's half. */
KTEST(user_kernel_sweep)
{
	static const char *const addrs[] = {
		"c0000000", "c0100000", "c0400000", "c0800000", "d0000000", "e0000000",
		"ffc00000", "fffff000", "fffffffc",
	};
	static const char *const hows[] = { "read", "write", "jump" };
	struct page_counts first, last;
	unsigned na = sizeof(addrs) / sizeof(addrs[0]);

	warm_up();
	page_counts(&first);
	for (unsigned i = 0; i < na; i++)
		for (unsigned j = 0; j < 3; j++)
			run_expect("fault", "kernel", hows[j], addrs[i], -1);
	run_expect("hello", "after the sweep", NULL, NULL, 0);
	page_counts(&last);
	printk("user_kernel_sweep: %u accesses killed, free physical pages %u -> %u\n",
	       na * 3, first.phys_free, last.phys_free);
	KEXPECT(pages_equal(&first, &last));
}

#define MANY_FAULTS	100

KTEST(user_many_faults)
{
	struct page_counts before, after;

	warm_up();
	page_counts(&before);
	for (int i = 0; i < MANY_FAULTS; i++)
		KEXPECT_EQ(run("fault", i % 2 ? "nullwrite" : "ud2", NULL, NULL), -1);
	page_counts(&after);
	printk("user_many_faults: %d children killed, free physical pages %u -> %u, "
	       "kernel virtual %u -> %u\n", MANY_FAULTS, before.phys_free, after.phys_free,
	       before.kvirt_free, after.kvirt_free);
	KEXPECT(pages_equal(&before, &after));
	/* and from user mode: a user parent spawns 100 faulting children */
	KEXPECT_EQ(run("spawner", "faults", "100", NULL), 0);
	run_expect("hello", "after", NULL, NULL, 0);
}

KTEST(user_sysargs)
{
	warm_up();
	run_expect("sysargs", NULL, NULL, NULL, 0);
}

KTEST(user_stack)
{
	warm_up();
	run_expect("stack", "1", NULL, NULL, 0);
	run_expect("stack", "13", NULL, NULL, 0);
	run_expect("stack", "2", "pusha", NULL, 0);
	run_expect("stack", "0", "syscall", NULL, 0);
	run_expect("stack", "20", NULL, NULL, -1);	/* past 16 pages */
	run_expect("hello", "after", NULL, NULL, 0);
}

KTEST(user_spawn)
{
	warm_up();
	run_expect("spawner", NULL, NULL, NULL, 0);
	/* a malformed executable is refused before any process is made */
	{
		const char *argv[] = { "notelf" };
		KEXPECT_EQ(spawn("notelf", 1, argv), -ENOEXEC);
		KEXPECT_EQ(spawn("nosuchprog", 1, argv), -ENOENT);
	}
}

/* Whether process pid is alive, and its first thread's user stack has a
 * page mapped (it has run in user mode). */
static int alive(int pid)
{
	struct process *p = process_find(pid);

	return p && p->state == PROCESS_ALIVE;
}

static int in_user_mode(int pid)
{
	struct process *p = process_find(pid);

	struct thread *t = p ? p->threads : NULL;

	return t && t->ustack_low >= t->ustack_guard + PAGE_SIZE && t->ustack_low < t->ustack_top;
}

/* A spinning program does not stop another one. One spin per CPU: with
 * fewer (lab 8), hello could run on a CPU of its own, preempting nothing. */
KTEST(user_spin)
{
	const char *spin[] = { "spin", "100000" };
	const char *hello[] = { "hello", "while spinning" };
	int s[NCPU], h, st, n = ncpu;

	warm_up();
	for (int i = 0; i < n; i++)
		KEXPECT((s[i] = spawn("spin", 2, spin)) > 0);
	KEXPECT((h = spawn("hello", 2, hello)) > 0);
	KEXPECT_EQ(process_wait(h, &st), h);
	KEXPECT_EQ(st, 0);
	printk("user_spin: hello ended while spin (pid %d) still ran: %s\n", s[0],
	       alive(s[0]) ? "yes" : "no");
	/* With several CPUs the first spin may still be loading on another
	 * one when hello ends; ps shows it once it runs in user mode. */
	for (int i = 0; i < 500 && !in_user_mode(s[0]); i++)
		sleep_ticks(1);
	{
		char ps[] = "ps";	/* ps shows the user thread and its stack */
		monitor_exec(ps);
	}
	for (int i = 0; i < n; i++)
		process_kill(process_find(s[i]), -1);
	for (int i = 0; i < n; i++) {
		KEXPECT_EQ(process_wait(s[i], &st), s[i]);
		KEXPECT_EQ(st, -1);
	}
}

/* User threads share their process's memory (and have stacks of their own
 * that come back at join); processes do not share; exit() with a thread
 * still spinning in user mode ends the whole process; a thread writing
 * below its stack range faults (and kills the process). */
KTEST(user_threads)
{
	warm_up();
	run_expect("threads", NULL, NULL, NULL, 0);
	run_expect("threads", "spinexit", NULL, NULL, 5);
	run_expect("threads", "below", NULL, NULL, -1);
	run_expect("threads", "stackexit", NULL, NULL, 0);
	run_expect("threads", "joinrace", NULL, NULL, 0);
	run_expect("hello", "after", NULL, NULL, 0);
}

/* ---- memory running out ---- */

#define HOG_MAX	512
static uintptr_t hog_at[HOG_MAX];
static size_t hog_pages[HOG_MAX];
static int hogs;

/* Takes free physical pages (blocks of up to 1024) until at most keep are
 * left, or none can be had. */
static void hog(size_t keep)
{
	struct page_counts pc;

	for (size_t want = 1024; want > 0; want /= 2) {
		for (;;) {
			page_counts(&pc);
			if (pc.phys_free < keep + want || hogs == HOG_MAX)
				break;
			hog_pages[hogs] = ppalloc(want, want, &hog_at[hogs]);
			if (!hog_pages[hogs])
				break;
			hogs++;
		}
	}
}

static void unhog(void)
{
	while (hogs > 0) {
		hogs--;
		ppfree(hog_at[hogs], hog_pages[hogs]);
	}
}

/* The read system call: input fed here (uinput_feed); bad buffers consume
 * nothing; a read into a fresh stack buffer grows the stack inside the
 * call (the kernel's copy faults); with no page free for that growth the
 * read is -EFAULT and the input stays for the next read; a process killed
 * while it waits in read ends (status -1). */
KTEST(user_read)
{
	static const char in[] = "line one\nabcdefgh\nline three\n";
	static const char late[] = "late line\n";
	const char *nomem[] = { "input", "nomem" };
	const char *block[] = { "input", "block" };
	struct page_counts before, after;
	int pid, st;

	warm_up();
	KEXPECT_EQ(uinput_feed(in, sizeof(in) - 1), sizeof(in) - 1);
	run_expect("input", NULL, NULL, NULL, 0);
	printk("user_read: fed input left: %u bytes\n", (unsigned)uinput_pending());
	KEXPECT_EQ(uinput_pending(), 0);
	page_counts(&before);
	KEXPECT((pid = spawn("input", 2, nomem)) > 0);
	sleep_ticks(10);	/* it waits in read */
	hog(0);
	KEXPECT_EQ(uinput_feed(late, sizeof(late) - 1), sizeof(late) - 1);
	KEXPECT_EQ(process_wait(pid, &st), pid);
	unhog();
	KEXPECT_EQ(st, 0);
	page_counts(&after);
	printk("user_read: fed input left: %u bytes; free physical pages %u -> %u\n",
	       (unsigned)uinput_pending(), before.phys_free, after.phys_free);
	KEXPECT_EQ(uinput_pending(), 0);
	KEXPECT(pages_equal(&before, &after));
	KEXPECT((pid = spawn("input", 2, block)) > 0);
	sleep_ticks(5);		/* it waits in read */
	process_kill(process_find(pid), -1);
	KEXPECT_EQ(process_wait(pid, &st), pid);
	page_counts(&after);
	printk("user_read: a reader waiting for input, killed: status %d\n", st);
	KEXPECT_EQ(st, -1);
	KEXPECT(pages_equal(&before, &after));
}

#define OOM_KEEP	400	/* free pages left to the spawns */
#define OOM_MAX		400	/* more children than OOM_KEEP pages can hold */

/* Spawns sleeping children until spawn fails for want of memory (some may
 * die of it while loading: status -1), kills them all, reaps them: every
 * page comes back, and a program runs afterwards. */
KTEST(user_spawn_oom)
{
	static int pids[OOM_MAX];
	const char *sleeper[] = { "spin", "sleep" };
	struct page_counts before, low, after;
	int n, pid = 0, st, killed = 0;

	warm_up();
	page_counts(&before);
	hog(OOM_KEEP);
	for (n = 0; n < OOM_MAX; n++) {
		if ((pid = spawn("spin", 2, sleeper)) < 0)
			break;
		pids[n] = pid;
	}
	page_counts(&low);
	printk("user_spawn_oom: %d children, then spawn: %d, %u pages free\n", n, pid,
	       low.phys_free);
	KEXPECT_EQ(pid, -ENOMEM);
	KEXPECT(n > 0);
	for (int i = 0; i < n; i++)
		process_kill(process_find(pids[i]), -1);
	for (int i = 0; i < n; i++) {
		KEXPECT_EQ(process_wait(pids[i], &st), pids[i]);
		killed += st == -1;
	}
	unhog();
	page_counts(&after);
	printk("user_spawn_oom: %d of %d reaped with status -1; free physical pages %u -> %u, "
	       "kernel virtual %u -> %u\n", killed, n, before.phys_free, after.phys_free,
	       before.kvirt_free, after.kvirt_free);
	KEXPECT_EQ(killed, n);
	KEXPECT(pages_equal(&before, &after));
	run_expect("hello", "after", NULL, NULL, 0);
}
