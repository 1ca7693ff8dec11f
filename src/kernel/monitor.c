#include "kernel/console.h"
#include "kernel/monitor.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/x86.h"
#include "lib/args.h"
#include "lib/string.h"

#define LINE_MAX	128
#define ARGS_MAX	8

extern const struct moncmd moncmds_start[], moncmds_end[];

MONITOR_COMMAND(help, "list the commands")
{
	(void)argc, (void)argv;
	for (const struct moncmd *c = moncmds_start; c < moncmds_end; c++)
		printk("%-10s %s\n", c->name, c->help);
	return 0;
}

MONITOR_COMMAND(backtrace, "print the call stack of the monitor")
{
	(void)argc, (void)argv;
	backtrace(BACKTRACE_HERE);
	return 0;
}

MONITOR_COMMAND(memmap, "print the memory map from the boot loader")
{
	(void)argc, (void)argv;
	memmap_print();
	return 0;
}

MONITOR_COMMAND(reboot, "reset the machine")
{
	(void)argc, (void)argv;
	printk("rebooting\n");
	machine_reboot();
}

int monitor_number(const char *cmd, const char *word, uint32_t *value)
{
	switch (args_number(word, value)) {
	case ARGS_OK:
		return 0;
	case ARGS_RANGE:
		printk("%s: '%s' is out of range (0 to 0xffffffff)\n", cmd, word);
		return -1;
	default:
		printk("%s: '%s' is not a number\n", cmd, word);
		return -1;
	}
}

int monitor_exec(char *line)
{
	char *argv[ARGS_MAX];
	int argc = args_split(line, argv, ARGS_MAX);

	if (argc == 0)
		return 0;
	if (argc < 0) {
		printk("%s: too many words (at most %d)\n", argv[0], ARGS_MAX);
		return 0;
	}
	for (const struct moncmd *c = moncmds_start; c < moncmds_end; c++)
		if (strcmp(c->name, argv[0]) == 0)
			return c->fn(argc, argv);
	printk("unknown command '%s' (try help)\n", argv[0]);
	return 0;
}

static void readline(char *buf, int size)
{
	int n = 0, c;

	for (;;) {
		c = console_getc_wait();
		if (c == '\r' || c == '\n') {
			console_putc('\n');
			break;
		}
		if ((c == '\b' || c == 0x7F) && n > 0) {
			n--;
			console_putc('\b'), console_putc(' '), console_putc('\b');
		} else if (c >= ' ' && c < 0x7F && n + 1 < size) {
			buf[n++] = (char)c;
			console_putc((char)c);
		}
	}
	buf[n] = '\0';
}

void monitor(void)
{
	char line[LINE_MAX];

	printk("Strata kernel monitor. Type 'help' for a list of commands.\n");
	for (;;) {
		printk("K> ");
		readline(line, sizeof(line));
		monitor_exec(line);
	}
}
