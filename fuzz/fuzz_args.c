/*
 * fuzz_args: the monitor's argument reading (src/lib/args.c) on any line.
 *
 * The input is a command line (any bytes, NUL-terminated in a buffer of
 * its exact size, so ASan sees any read past it). args_split must give the
 * words a plain reference splitter gives (or -1 past the maximum), each
 * pointing into the line; args_number on each word must agree with a
 * reference reader written independently here (decimal, or 0x and hex;
 * ARGS_RANGE for a negative number or one above 0xffffffff; ARGS_NAN for
 * anything else), and leave the value alone unless it succeeds.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/args.h"

#define WORDS_MAX	8

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The reference: the words of line (a copy), at most max + 1. */
static int ref_split(const char *line, char words[][256], int max)
{
	int n = 0;

	while (*line) {
		size_t len = 0;

		while (blank(*line))
			line++;
		if (!*line)
			break;
		while (line[len] && !blank(line[len]))
			len++;
		if (n <= max && len < 256) {
			memcpy(words[n], line, len);
			words[n][len] = '\0';
		}
		n++;
		line += len;
	}
	return n > max ? -1 : n;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int ref_number(const char *w, uint64_t *value)
{
	int neg = 0, base = 10, digits = 0;
	uint64_t v = 0;
	int big = 0;

	if (w[0] == '-' && w[1] != '-')
		neg = 1, w++;
	if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		base = 16, w += 2;
	for (; *w; w++, digits++) {
		int d = hexval(*w);

		if (d < 0 || d >= base)
			return ARGS_NAN;
		if (!big) {
			v = v * base + (uint64_t)d;
			big = v > 0xffffffffu;
		}
	}
	if (!digits)
		return ARGS_NAN;
	if (neg || big)
		return ARGS_RANGE;
	*value = v;
	return ARGS_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_args");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), *argv[WORDS_MAX];
	static char words[WORDS_MAX + 1][256];
	int n, want;

	memcpy(line, data, size);
	line[size] = '\0';
	want = ref_split(line, words, WORDS_MAX);
	n = args_split(line, argv, WORDS_MAX);
	fuzz_ops++;
	FUZZ_ASSERT(n == want, "args_split gave %d words, reference %d", n, want);
	for (int i = 0; i < (n < 0 ? WORDS_MAX : n); i++) {
		uint32_t got = 0x5eed, was = got;
		uint64_t ref = 0;
		int r = args_number(argv[i], &got), rr;

		FUZZ_ASSERT(argv[i] >= line && argv[i] < line + size, "word %d outside the line", i);
		if (strlen(argv[i]) < 256)
			FUZZ_ASSERT(strcmp(argv[i], words[i]) == 0, "word %d is '%s', reference '%s'",
				    i, argv[i], words[i]);
		rr = ref_number(argv[i], &ref);
		fuzz_ops++;
		FUZZ_ASSERT(r == rr, "args_number('%s') = %d, reference %d", argv[i], r, rr);
		FUZZ_ASSERT(r == ARGS_OK ? got == ref : got == was, "args_number('%s') value %u",
			    argv[i], got);
	}
	free(line);
	return 0;
}
