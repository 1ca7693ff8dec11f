//@ LAB 7 FILE
/* spin TICKS: spins in user mode for TICKS timer ticks' worth of loops
 * without a system call (preemption must still let others run).
 * spin sleep: sleeps a tick at a time until killed. */
#include "user/lib/ulib.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "sleep") == 0)
		for (;;)
			sleep(1);
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10;

	for (volatile unsigned long i = 0; i < n * 1000000; i++)
		;
	printf("spin: done\n");
	return 0;
}
