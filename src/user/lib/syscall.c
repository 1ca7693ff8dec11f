//@ LAB 7 FILE
/* The system call stubs: int $0x80 with the number in eax, the arguments
 * in ebx, ecx, edx (kernel/syscall_abi.h). */
#include "user/lib/ulib.h"

int syscall(int num, uint32_t a, uint32_t b, uint32_t c)
{
	int ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(num), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return ret;
}

int write(const void *buf, size_t len) { return syscall(SYS_WRITE, (uint32_t)buf, len, 0); }
int read(void *buf, size_t len) { return syscall(SYS_READ, (uint32_t)buf, len, 0); }
int getpid(void) { return syscall(SYS_GETPID, 0, 0, 0); }
int gettid(void) { return syscall(SYS_GETTID, 0, 0, 0); }
int yield(void) { return syscall(SYS_YIELD, 0, 0, 0); }
int sleep(unsigned ticks) { return syscall(SYS_SLEEP, ticks, 0, 0); }
void *sbrk(int delta) { return (void *)syscall(SYS_SBRK, delta, 0, 0); }
int wait(int pid, int *status) { return syscall(SYS_WAIT, pid, (uint32_t)status, 0); }
int pages(struct sys_pages *pc) { return syscall(SYS_PAGES, (uint32_t)pc, 0, 0); }

int spawn(const char *name, char *const argv[])
{
	return syscall(SYS_SPAWN, (uint32_t)name, (uint32_t)argv, 0);
}

void exit(int status)
{
	syscall(SYS_EXIT, status, 0, 0);
	for (;;)
		;
}

/* Where a new thread starts (the kernel puts fn and arg on its stack). */
static void thread_start(int (*fn)(void *), void *arg)
{
	thread_exit(fn(arg));
}

int thread_create(int (*fn)(void *), void *arg)
{
	return syscall(SYS_THREAD_CREATE, (uint32_t)thread_start, (uint32_t)fn, (uint32_t)arg);
}

void thread_exit(int value)
{
	syscall(SYS_THREAD_EXIT, value, 0, 0);
	for (;;)
		;
}

int thread_join(int tid, int *value)
{
	return syscall(SYS_THREAD_JOIN, tid, (uint32_t)value, 0);
}
