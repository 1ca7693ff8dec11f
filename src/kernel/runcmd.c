//@ LAB 7 FILE
/* The monitor's run command: spawn a user program and wait for it, or
 * (a last argument "&") leave it running while the monitor goes on; a
 * background program is reaped when the machine reboots. */
#include "kernel/initrd.h"
#include "kernel/monitor.h"
#include "kernel/printk.h"
#include "kernel/process.h"
#include "kernel/syscall.h"
#include "lib/string.h"

static void list_one(const char *name, size_t size)
{
	printk("  %-16s %u bytes\n", name, (unsigned)size);
}

MONITOR_COMMAND(run, "run PROG [ARGS] [&]: run a user program and wait for it (& : not)")
{
	int pid, status, background = argc > 2 && strcmp(argv[argc - 1], "&") == 0;

	if (background)
		argc--;
	if (argc < 2) {
		printk("usage: run PROG [ARGS] [&]; the programs:\n");
		initrd_list(list_one);
		return 0;
	}
	if ((pid = spawn(argv[1], argc - 1, (const char *const *)argv + 1)) < 0) {
		printk("run: cannot run '%s': error %d\n", argv[1], pid);
		return 0;
	}
	if (background) {
		printk("run: pid %d '%s' runs in the background\n", pid, argv[1]);
		return 0;
	}
	process_wait(pid, &status);
	printk("run: pid %d '%s' exited with status %d\n", pid, argv[1], status);
	return 0;
}
