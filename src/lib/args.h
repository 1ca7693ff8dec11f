/*
 * Command-line words, as the kernel monitor reads them: a line split into
 * words, and a word read as a 32-bit number. Pure functions of their
 * arguments (no kernel state): the host fuzzes them (fuzz/fuzz_args.c).
 */
#ifndef STRATA_ARGS_H
#define STRATA_ARGS_H

#include <stdint.h>

/*
 * Splits line in place into words separated by spaces and tabs: argv[i]
 * points into line, each word NUL-terminated. Returns the number of words
 * (0 for a blank line), or -1 if there are more than max (argv then holds
 * the first max).
 */
int args_split(char *line, char **argv, int max);

#define ARGS_OK		0
#define ARGS_NAN	(-1)	/* not a number: empty, a stray character, "0x" */
#define ARGS_RANGE	(-2)	/* a number, but negative or above 0xffffffff */

/*
 * Reads word as a number: decimal digits, or 0x/0X and hexadecimal digits.
 * Returns ARGS_OK and sets *value, or ARGS_NAN / ARGS_RANGE (*value is
 * then unchanged). Never wraps: 0x100000000 is ARGS_RANGE, not 0.
 */
int args_number(const char *word, uint32_t *value);

#endif
