//@ LAB 7 FILE
/* spawner: spawn/wait/exit statuses from user mode; "faults N": N faulting
 * children in a row, with the free-page counts before and after. */
#include "user/lib/ulib.h"

static int run(char *name, char *arg)
{
	char *argv[] = { name, arg, NULL };
	int st = 12345, pid = spawn(name, argv);

	if (pid < 0)
		return pid;
	if (wait(pid, &st) != pid)
		return -1000;
	return st;
}

int main(int argc, char **argv)
{
	struct sys_pages before, after;
	int n = argc > 2 ? (int)strtoul(argv[2], NULL, 10) : 0;

	if (argc > 1 && strcmp(argv[1], "faults") == 0) {
		run("fault", "nullread");	/* the first may keep a page table */
		pages(&before);
		for (int i = 0; i < n; i++)
			if (run("fault", i % 2 ? "nullwrite" : "ud2") != -1)
				printf("spawner: child %d was not killed\n", i);
		pages(&after);
		printf("spawner: %d faulting children: free pages %u -> %u, kernel virtual %u -> %u\n",
		       n, before.phys_free, after.phys_free, before.kvirt_free, after.kvirt_free);
		return before.phys_free != after.phys_free || before.kvirt_free != after.kvirt_free;
	}
	printf("spawner: hello exited %d\n", run("hello", NULL));
	printf("spawner: fault exited %d\n", run("fault", "nullread"));
	printf("spawner: exit7 exited %d\n", run("exitcode", "7"));
	int st, pid = spawn("exitcode", (char *[]){ "exitcode", "3", NULL });
	int first = wait(pid, &st) == pid ? st : -999;
	printf("spawner: wait twice: status %d, then %d\n", first, wait(pid, &st));
	printf("spawner: wait on a non-child: %d\n", wait(1, &st));
	printf("spawner: wait on itself: %d, on the kernel (pid 0): %d\n", wait(getpid(), &st),
	       wait(0, &st));
	printf("spawner: spawn of nothing: %d\n", run("nosuchprog", NULL));
	printf("spawner: spawn of a non-ELF: %d\n", run("notelf", NULL));
	return 0;
}
