//@ LAB 6 FILE
/*
 * malloc's page source on the host (malloc.h: struct malloc_pages), for
 * the malloc unit tests and benchmark: pages from mmap, and a panic that
 * the tests can catch.
 *
 *  - Every live range is recorded, so a test can ask how many pages are
 *    held (host_pages_in_use), look at the ranges, and see that they all
 *    come back. free of anything but exactly a live range panics.
 *  - host_pages_set_limit(n) makes alloc fail (return 0) once n pages
 *    would be held: out of memory on demand.
 *  - New pages are filled with 0xa5 (the kernel gives no zeroed memory
 *    either), released pages with 0xdd before they are unmapped.
 *  - host_panic() formats its message into host_panic_msg; if a test armed
 *    host_panic_env (host_panic_armed = 1, then setjmp), it longjmps back
 *    there; otherwise it calls host_panic_hook if one is set (the tests
 *    turn the panic into a test failure), then prints the message and
 *    aborts.
 *
 * mmap rather than the C library's heap, so the benchmark's measurement of
 * the C library's malloc does not count our pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/layout.h"
#include "mm/malloc.h"
#include "host_pages.h"

#define MAX_RANGES	65536

struct range {
	uintptr_t start;
	size_t pages;
};

static struct range ranges[MAX_RANGES];
static size_t nranges;
static size_t in_use, peak, limit, calls;

jmp_buf host_panic_env;
int host_panic_armed;
char host_panic_msg[1024];
void (*host_panic_hook)(const char *msg);

static void host_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static size_t host_alloc(size_t min_pages, size_t max_pages, uintptr_t *start)
{
	size_t n = max_pages;
	void *p;

	if (min_pages == 0 || min_pages > max_pages)
		host_panic("kvmalloc(%zu, %zu): bad page counts", min_pages, max_pages);
	if (limit != 0) {
		if (in_use + min_pages > limit)
			return 0;
		if (in_use + n > limit)
			n = limit - in_use;
	}
	if (nranges == MAX_RANGES)
		return 0;
	p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	memset(p, 0xa5, n * PAGE_SIZE);
	ranges[nranges].start = (uintptr_t)p;
	ranges[nranges].pages = n;
	nranges++;
	in_use += n;
	if (in_use > peak)
		peak = in_use;
	calls++;
	*start = (uintptr_t)p;
	return n;
}

static void host_free(uintptr_t start, size_t n_pages)
{
	size_t i;

	for (i = 0; i < nranges; i++)
		if (ranges[i].start == start)
			break;
	if (i == nranges || ranges[i].pages != n_pages)
		host_panic("kvfree(%p, %zu): not a range kvmalloc returned", (void *)start, n_pages);
	memset((void *)start, 0xdd, n_pages * PAGE_SIZE);
	munmap((void *)start, n_pages * PAGE_SIZE);
	ranges[i] = ranges[--nranges];
	in_use -= n_pages;
}

static void host_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(host_panic_msg, sizeof(host_panic_msg), fmt, ap);
	va_end(ap);
	if (host_panic_armed) {
		host_panic_armed = 0;
		longjmp(host_panic_env, 1);
	}
	if (host_panic_hook != NULL)
		host_panic_hook(host_panic_msg);
	fprintf(stderr, "panic: %s\n", host_panic_msg);
	abort();
}

const struct malloc_pages malloc_pages = { .alloc = host_alloc, .free = host_free,
					    .panic = host_panic };

/* ---- for the tests and the benchmark ---- */

size_t host_pages_in_use(void)
{
	return in_use;
}

size_t host_pages_peak(void)
{
	return peak;
}

void host_pages_reset_peak(void)
{
	peak = in_use;
}

size_t host_pages_calls(void)
{
	return calls;
}

void host_pages_set_limit(size_t max_pages)
{
	limit = max_pages;
}

size_t host_pages_nranges(void)
{
	return nranges;
}

int host_pages_range(size_t i, uintptr_t *start, size_t *pages)
{
	if (i >= nranges)
		return 0;
	*start = ranges[i].start;
	*pages = ranges[i].pages;
	return 1;
}
