#include "lib/args.h"

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

int args_split(char *line, char **argv, int max)
{
	int argc = 0;

	for (;;) {
		while (blank(*line))
			*line++ = '\0';
		if (!*line)
			return argc;
		if (argc == max)
			return -1;
		argv[argc++] = line;
		while (*line && !blank(*line))
			line++;
	}
}

static int digit(char c, unsigned base)
{
	unsigned d;

	if (c >= '0' && c <= '9')
		d = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		d = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		d = (unsigned)(c - 'A' + 10);
	else
		return -1;
	return d < base ? (int)d : -1;
}

/* Reads digits of base up to the end of s: ARGS_OK, ARGS_NAN (none, or
 * a non-digit) or ARGS_RANGE (the value does not fit 32 bits). */
static int digits(const char *s, unsigned base, uint32_t *value)
{
	uint64_t v = 0;
	int over = 0, d;

	if (!*s)
		return ARGS_NAN;
	for (; *s; s++) {
		if ((d = digit(*s, base)) < 0)
			return ARGS_NAN;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX) {
			over = 1;
			v = UINT32_MAX;	/* keep going: a stray character is still NAN */
		}
	}
	if (over)
		return ARGS_RANGE;
	*value = (uint32_t)v;
	return ARGS_OK;
}

int args_number(const char *word, uint32_t *value)
{
	uint32_t ignored;
	unsigned base = 10;
	int r;

	if (word[0] == '-' && word[1] != '-') {
		r = args_number(word + 1, &ignored);
		return r == ARGS_NAN ? ARGS_NAN : ARGS_RANGE;
	}
	if (word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
		word += 2;
		base = 16;
	}
	return digits(word, base, value);
}
