//@ LAB 7 FILE
/* input: the read system call (its input fed by the kernel's test,
 * uinput_feed). Bad buffers are -EFAULT and consume nothing; a read into
 * a fresh stack buffer grows the stack inside the system call. "nomem":
 * the first read waits, meanwhile the test takes every free page, so the
 * stack cannot grow under the copy: -EFAULT, nothing consumed. "block":
 * waits in read for input that never comes (the test kills it). Prints
 * "input: N checks, M failed". */
#include "user/lib/ulib.h"

static int checks, failed;

static void expect(const char *what, int got, int want)
{
	checks++;
	if (got != want) {
		failed++;
		printf("input: FAIL %s: %d, expected %d\n", what, got, want);
	}
}

/* A read into this thread's stack 3 pages below the page this frame is
 * in (the top page, the only one mapped): a fresh stack buffer, first
 * touched by the kernel's copy. (Not a local array: the call's arguments,
 * below it, would grow the stack first.) */
static int __attribute__((noinline)) read_deep(char *out, int n)
{
	char *buf = (char *)(((uintptr_t)__builtin_frame_address(0) & ~0xfffu) - 3 * 4096);
	int r = read(buf, n);

	for (int i = 0; i < r; i++)
		out[i] = buf[i];
	return r;
}

static const char *shown(char *buf, int r)
{
	if (r < 0)
		return "";
	buf[r] = 0;
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	/* the guard page below this thread's stack (main's frame is in the
	 * top page) */
	uintptr_t guard = ((uintptr_t)__builtin_frame_address(0) & ~0xfffu) + 4096 - 17 * 4096;
	const uint32_t bad[] = { 0, 0xC0000000, 0xC0100000, 0xFFFFF000, 0x7FFFF000, 0x3FF000,
				 guard, (uint32_t)main };
	char buf[64];
	int r;

	if (argc > 1 && strcmp(argv[1], "block") == 0) {
		r = read(buf, sizeof(buf) - 1);
		printf("input: FAIL: read returned %d to a killed process\n", r);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "nomem") == 0) {
		r = read_deep(buf, sizeof(buf) - 1);
		printf("input: read into a fresh stack buffer with no free page: %d\n", r);
		r = read(buf, sizeof(buf) - 1);
		printf("input: then read %d: '%s'\n", r, shown(buf, r));
		return 0;
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect("read bad buffer", read((void *)bad[i], 4), -EFAULT);
	expect("read wraps", read(buf, 0xFFFFFFF0u), -EFAULT);
	expect("read length 0", read(buf, 0), 0);
	r = read(buf, sizeof(buf) - 1);
	printf("input: read %d: '%s'\n", r, shown(buf, r));
	r = read(buf, 4);
	printf("input: read 4 of a line: %d: '%s'\n", r, shown(buf, r));
	r = read(buf, sizeof(buf) - 1);
	printf("input: its rest: %d: '%s'\n", r, shown(buf, r));
	r = read_deep(buf, sizeof(buf) - 1);
	printf("input: read into a fresh stack buffer: %d: '%s'\n", r, shown(buf, r));
	printf("input: %d checks, %d failed\n", checks, failed);
	return failed;
}
