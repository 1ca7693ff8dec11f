//@ LAB 7 FILE
/* threads: user threads share memory, processes do not; exit while a
 * thread still spins ends the whole process. "below": a thread writing
 * below its stack range is killed; "joinrace": two joiners of one thread;
 * "stackexit": a thread's stack pages come back at its exit; "spinners":
 * four threads spin until the process is killed (lab 8 kills it while they
 * run on other CPUs). */
#include "user/lib/ulib.h"

#define N	4

static volatile int slots[N];
static volatile int shared = 1;

static int worker(void *arg)
{
	int i = (int)(uintptr_t)arg;
	volatile char deep[3 * 4096];	/* its own stack grows too */

	deep[0] = (char)i;
	slots[i] = 100 + i + deep[0] - i;
	return i * 10;
}

/* Writes 20 pages below its own stack top: past its 16 pages and guard,
 * where the block's unused part lies (never a neighbour's stack). */
static int below(void *arg)
{
	volatile char here;

	(void)arg;
	*(volatile char *)(((uintptr_t)&here & ~0xfffu) - 20 * 4096) = 1;
	return 0;
}

static volatile int grown;

/* Grows its stack to 9 pages, then exits: they come back at its exit. */
static int grower(void *arg)
{
	volatile char deep[8 * 4096];

	(void)arg;
	deep[0] = 1;
	grown = 1;
	return deep[0];
}

static int sleeper(void *arg)
{
	(void)arg;
	sleep(2);
	return 7;
}

/* Joins the thread arg: its value, or join's error. */
static int joiner(void *arg)
{
	int v = -1000, r = thread_join((int)(uintptr_t)arg, &v);

	return r == 0 ? v : r;
}

#define JOIN_ROUNDS	20

/* Two threads join one thread at once: one gets its value, the other
 * -EINVAL, every time (the lookup and the join are one step). */
static int join_race(void)
{
	int bad = 0;

	for (int i = 0; i < JOIN_ROUNDS; i++) {
		int x = thread_create(sleeper, NULL);
		int a = thread_create(joiner, (void *)(uintptr_t)x);
		int b = thread_create(joiner, (void *)(uintptr_t)x);
		int va = 0, vb = 0;
		thread_join(a, &va);
		thread_join(b, &vb);
		if (!((va == 7 && vb == -EINVAL) || (va == -EINVAL && vb == 7))) {
			printf("threads: round %d: the joiners got %d and %d\n", i, va, vb);
			bad++;
		}
	}
	printf("threads: %d rounds of two joiners of one thread, %d wrong\n", JOIN_ROUNDS, bad);
	return bad;
}

/* The pages an exited thread holds before its join (its kernel stack
 * only: its 9 user stack pages came back at its exit), and after. */
static int stack_at_exit(void)
{
	struct sys_pages a, b, c;
	int v, tid;

	thread_join(thread_create(worker, (void *)0), &v);	/* warm-up */
	pages(&a);
	tid = thread_create(grower, NULL);
	while (!grown)
		yield();
	sleep(2);		/* it has exited */
	pages(&b);
	thread_join(tid, &v);
	pages(&c);
	printf("threads: pages held by an exited thread before its join: %d, after: %d\n",
	       (int)(a.phys_free - b.phys_free), (int)(a.phys_free - c.phys_free));
	return a.phys_free != c.phys_free;
}

static int __attribute__((noreturn)) spinner(void *arg)
{
	(void)arg;
	for (;;)
		;
}

int main(int argc, char **argv)
{
	int tids[N], v, sum = 0, st;

	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		shared = 2;		/* the parent's copy must not change */
		return shared;
	}
	if (argc > 1 && strcmp(argv[1], "below") == 0) {
		int tid = thread_create(worker, (void *)0);	/* a neighbour */
		thread_join(thread_create(below, NULL), &v);
		printf("threads: the write below the stack was not stopped (%d)\n", tid);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "joinrace") == 0)
		return join_race();
	if (argc > 1 && strcmp(argv[1], "stackexit") == 0)
		return stack_at_exit();
	if (argc > 1 && strcmp(argv[1], "spinners") == 0) {	/* lab 8: killed from outside */
		for (int i = 0; i < N - 1; i++)
			thread_create(spinner, NULL);
		spinner(NULL);
	}
	if (argc > 1 && strcmp(argv[1], "spinexit") == 0) {
		thread_create(spinner, NULL);
		printf("threads: exit with a thread still spinning\n");
		return 5;
	}
	for (int i = 0; i < N; i++)
		tids[i] = thread_create(worker, (void *)(uintptr_t)i);
	for (int i = 0; i < N; i++) {
		if (thread_join(tids[i], &v) < 0)
			printf("threads: join %d failed\n", tids[i]);
		sum += v;
	}
	printf("threads: %d threads, slots %d %d %d %d, values sum %d\n", N, slots[0],
	       slots[1], slots[2], slots[3], sum);
	printf("threads: join of a joined thread: %d, of itself: %d\n",
	       thread_join(tids[0], &v), thread_join(gettid(), &v));
	int pid = spawn("threads", (char *[]){ "threads", "child", NULL });
	wait(pid, &st);
	printf("threads: child exited %d, our shared is still %d\n", st, shared);
	return 0;
}
