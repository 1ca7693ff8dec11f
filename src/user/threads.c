//@ LAB 7 FILE
/* threads: user threads share memory, processes do not; exit while a
 * thread still spins ends the whole process. */
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
