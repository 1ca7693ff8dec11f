//@ LAB 7 FILE
/* sysargs: bad pointers and lengths for every pointer-taking system call
 * must give -EFAULT (or the errno named) with no effect; good ones that
 * straddle a page boundary must work. Prints one line per check and
 * "sysargs: N checks, M failed". */
#include "user/lib/ulib.h"

static int checks, failed;

static void expect(const char *what, int got, int want)
{
	checks++;
	if (got != want) {
		failed++;
		printf("sysargs: FAIL %s: %d, expected %d\n", what, got, want);
	}
}

static char page_pair[2 * 4096] __attribute__((aligned(4096)));

static int idle(void *arg)
{
	(void)arg;
	return 42;
}

int main(void)
{
	/* NULL, kernel, unmapped (above the heap, below the binary) and this
	 * thread's guard page (17 pages below the top of its stack) */
	uint32_t bad[] = { 0, 0xC0000000, 0xC0100000, 0xFFFFF000, 0x7FFFF000, 0x3FF000, 0 };
	unsigned nbad = sizeof(bad) / sizeof(bad[0]);
	struct sys_pages pc;
	int st, v;
	char *top, *edge;
	uintptr_t guard;

	guard = ((uintptr_t)__builtin_frame_address(0) & ~0xfffu) + 4096 - 17 * 4096;
	bad[nbad - 1] = guard;
	/* every pointer-taking call: -EFAULT, nothing done */
	for (unsigned i = 0; i < nbad; i++) {
		int tid = thread_create(idle, NULL);
		expect("write bad", write((void *)bad[i], 4), -EFAULT);
		expect("read bad", read((void *)bad[i], 4), -EFAULT);
		expect("pages bad", pages((void *)bad[i]), -EFAULT);
		expect("spawn bad name", spawn((void *)bad[i], NULL), -EFAULT);
		expect("spawn bad argv", spawn("hello", (char **)bad[i]), -EFAULT);
		if (bad[i])	/* (NULL ends argv) */
			expect("spawn bad arg",
			       spawn("hello", (char *[]){ "hello", (char *)bad[i], NULL }), -EFAULT);
		expect("wait bad status", wait(-1, (void *)bad[i]), bad[i] ? -EFAULT : -ECHILD);
		expect("thread_create bad start",
		       syscall(SYS_THREAD_CREATE, bad[i], (uint32_t)idle, 0), -EFAULT);
		if (bad[i])	/* NULL: the value is not stored; the join is done */
			expect("thread_join bad value", thread_join(tid, (int *)bad[i]), -EFAULT);
		expect("thread_join after a bad one", thread_join(tid, &v), 0);
		expect("its value", v, 42);
	}
	expect("write guard", write((void *)guard, 4), -EFAULT);
	expect("pages guard", pages((void *)guard), -EFAULT);
	/* lengths */
	expect("write wraps", write("x", 0xFFFFFFF0u), -EFAULT);
	expect("write over-long", write("x", 0x10000000), -EFAULT);
	/* an unterminated string running into an unmapped page */
	sbrk(4096);
	top = (char *)((((uintptr_t)sbrk(0) + 4095) & ~0xfffu) - 8);	/* 8 bytes before an unmapped page */
	memset(top, 'a', 8);
	expect("spawn unterminated", spawn(top, NULL), -EFAULT);
	{
		char *argv[] = { "hello", top, NULL };
		expect("spawn unterminated arg", spawn("hello", argv), -EFAULT);
		char *argv2[] = { "hello", (char *)0xC0000000, NULL };
		expect("spawn kernel arg", spawn("hello", argv2), -EFAULT);
		expect("spawn kernel argv", spawn("hello", (char **)0xC0001000), -EFAULT);
	}
	expect("spawn missing", spawn("nosuchprog", (char *[]){ "nosuchprog", NULL }), -ENOENT);
	/* straddling a page boundary works */
	edge = page_pair + 4096 - 3;
	memcpy(edge, "ok\n", 3);
	expect("write straddling", write(edge, 3), 3);
	{
		struct sys_pages *p2 = (struct sys_pages *)(page_pair + 4096 - 4);
		expect("pages straddling", pages(p2), 0);
		expect("pages ok", pages(&pc), 0);
	}
	memcpy(page_pair + 4096 - 3, "he", 2);
	memcpy(page_pair + 4096 - 1, "l", 1);
	memcpy(page_pair + 4096, "lo", 3);
	{
		char *argv[] = { page_pair + 4096 - 3, "straddle", NULL };
		int pid = spawn(page_pair + 4096 - 3, argv);
		expect("spawn straddling name", pid > 0, 1);
		expect("wait straddling", wait(pid, &st), pid);
		expect("its status", st, 0);
	}
	/* a bad user esp at the system call: the kernel runs on esp0 anyway */
	{
		int r;
		__asm__ volatile("movl %%esp, %%esi; movl $0, %%esp; int $0x80; movl %%esi, %%esp"
				 : "=a"(r) : "a"(SYS_GETPID) : "esi", "memory");
		expect("syscall with esp 0", r, getpid());
	}
	/* sbrk: grow, shrink, failure; the pages come back */
	{
		struct sys_pages a, b;
		char *old;
		pages(&a);
		old = sbrk(3 * 4096);
		memset(old, 1, 3 * 4096);
		expect("sbrk shrink", (int)sbrk(-3 * 4096), (int)(old + 3 * 4096));
		expect("sbrk too much", (int)sbrk(0x7ffff000), -ENOMEM);
		expect("sbrk below the heap", (int)sbrk(-0x1000000), -EINVAL);
		pages(&b);
		expect("sbrk pages back", b.phys_free == a.phys_free, 1);
	}
	expect("bad syscall number", syscall(999, 0, 0, 0), -ENOSYS);
	expect("syscall number 0", syscall(0, 0, 0, 0), -ENOSYS);
	expect("wait no child", wait(-1, &st), -ECHILD);
	printf("sysargs: %d checks, %d failed\n", checks, failed);
	return failed;
}
