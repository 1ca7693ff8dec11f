//@ LAB 7 FILE
/* stack PAGES [pusha]: uses PAGES pages of stack (the kernel grows it);
 * 17 or more runs into the guard page. "pusha": the first touch below the
 * mapped part is a pusha. "syscall": a fresh stack buffer is first
 * touched by the kernel (sys_pages into it). */
#include "user/lib/ulib.h"

static int __attribute__((noinline)) use(int pages)
{
	volatile char frame[4096 - 64];

	frame[0] = (char)pages;
	frame[sizeof(frame) - 1] = (char)pages;
	if (pages > 1)
		return use(pages - 1) + frame[0];
	return frame[0];
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtoul(argv[1], NULL, 10) : 1;
	const char *how = argc > 2 ? argv[2] : "";

	if (strcmp(how, "pusha") == 0) {
		/* esp just below the mapped top page, then pusha writes there */
		__asm__ volatile("movl %%esp, %%ebx; andl $~0xfff, %%esp; subl $4096, %%esp; "
				 "addl $32, %%esp; pusha; movl %%ebx, %%esp" ::: "ebx", "memory");
		printf("stack: pusha below the mapped stack worked\n");
		return 0;
	}
	if (strcmp(how, "syscall") == 0) {
		/* 3 pages below main's (the top) page: a fresh stack buffer
		 * (a local array would be grown by the call's arguments) */
		struct sys_pages *pc = (struct sys_pages *)
			(((uintptr_t)__builtin_frame_address(0) & ~0xfffu) - 3 * 4096);
		int r = pages(pc);
		printf("stack: pages() into a fresh stack buffer: %d\n", r);
		return r;
	}
	use(n);
	printf("stack: used %d pages of stack\n", n);
	return 0;
}
