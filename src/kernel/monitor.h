/*
 * The kernel monitor: a command line on the serial console, started when
 * the kernel boots without test=. Each layer adds its commands with
 * MONITOR_COMMAND in its own file; the monitor finds them in .moncmds.
 */
#ifndef STRATA_MONITOR_H
#define STRATA_MONITOR_H

#include <stdint.h>

struct moncmd {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv);	/* < 0 leaves the monitor */
};

#define MONITOR_COMMAND(id, helptext)					\
	static int moncmd_##id(int argc, char **argv);			\
	static const struct moncmd moncmd_entry_##id			\
		__attribute__((section(".moncmds." #id), used, aligned(4))) = \
		{ #id, helptext, moncmd_##id };				\
	static int moncmd_##id(int argc, char **argv)

void monitor(void) __attribute__((noreturn));
/* Runs one command line; returns what the command returned. */
int monitor_exec(char *line);
/*
 * Reads a command's numeric argument (lib/args.h): returns 0 and sets
 * *value, or prints "CMD: 'WORD' is not a number" (or "is out of range")
 * and returns -1.
 */
int monitor_number(const char *cmd, const char *word, uint32_t *value);

#endif
