/* The operation counters of fuzz.h and their report at exit. */
#include "fuzz.h"

unsigned long long fuzz_ops, fuzz_checks;
const char *fuzz_name = "fuzz";

static void report(void)
{
	fprintf(stderr, "%s: %llu operations, %llu checks, 0 invariant violations\n",
		fuzz_name, fuzz_ops, fuzz_checks);
}

void fuzz_init(const char *name)
{
	fuzz_name = name;
	atexit(report);
}
