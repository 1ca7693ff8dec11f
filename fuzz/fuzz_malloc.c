//@ LAB 6 FILE
/*
 * fuzz_malloc: the kernel heap (src/mm/malloc*.c, on tests/host_pages.c's
 * pages) against a shadow map.
 *
 * The input is a sequence of malloc, calloc, realloc and free calls with
 * sizes from 0 to beyond MALLOC_MAX, now and then under a page limit (out
 * of memory on demand) or with a double free (which must panic and leave
 * the heap as it was). The shadow map keeps every live block's size and a
 * byte pattern written into all of it; each result is checked against
 * malloc.h's semantics (16-byte alignment, no overlap with another live
 * block, calloc zeroed, realloc keeping the old bytes, NULL only for
 * impossible requests or exhausted pages, realloc failing leaves the block
 * alone), the touched block's bytes are checked, and malloc_check()
 * verifies the heap's invariants after every call. At the end of an input
 * everything is freed and the pages must go back (at most one arena kept;
 * from lab 8 on, after malloc_trim: the caches are on while it fuzzes).
 */
#include <setjmp.h>
#include <string.h>

#include "fuzz.h"
#include "mm/malloc.h"

#define LIVE_MAX	256
#define OPS_MAX		256

#include "../tests/host_pages.h"

static struct live { unsigned char *p; size_t size; unsigned char fill; } live[LIVE_MAX];
static int nlive;
static unsigned char next_fill = 1;

static void fill(struct live *l)
{
	memset(l->p, l->fill, l->size);
}

/* Byte loops are not worth coverage feedback, and instrumenting each
 * compare made them most of the run time. */
__attribute__((noinline, no_sanitize("coverage")))
static size_t first_not(const unsigned char *p, size_t n, unsigned char want)
{
	size_t i = 0;

	while (i < n && p[i] == want)
		i++;
	return i;
}

static void check_bytes(const struct live *l, size_t upto, unsigned char want)
{
	size_t i = first_not(l->p, upto, want);

	FUZZ_ASSERT(i == upto, "block %p byte %zu is 0x%02x, not 0x%02x", (void *)l->p, i,
		    l->p[i], want);
}

static void check_new(unsigned char *p, size_t size, int skip)
{
	FUZZ_ASSERT(((uintptr_t)p & (MALLOC_ALIGN - 1)) == 0, "%p not %d-byte aligned",
		    (void *)p, MALLOC_ALIGN);
	for (int i = 0; i < nlive; i++) {
		if (i == skip)
			continue;
		/* malloc(0) blocks are unique too: treat every block as at least 1 byte */
		size_t a = live[i].size ? live[i].size : 1, b = size ? size : 1;
		FUZZ_ASSERT((uintptr_t)p + b <= (uintptr_t)live[i].p ||
			    (uintptr_t)live[i].p + a <= (uintptr_t)p,
			    "new block %p+%zu overlaps live %p+%zu", (void *)p, size,
			    (void *)live[i].p, live[i].size);
	}
}

/* Sizes: mostly small, some around page and arena sizes, a few huge. */
static size_t pick_size(struct input *in)
{
	uint32_t k = take(in, 1), v = take(in, 2);

	switch (k % 8) {
	case 0: return v % 16;
	case 1: case 2: case 3: return v % 256;
	case 4: return v % 4200;
	case 5: return v % 20000;
	case 6: return 4096 * (v % 5) + v % 48 - 24;
	default:	/* impossible requests, and one large block */
		return v % 8 == 0 ? (size_t)v * 4 : v % 2 ? MALLOC_MAX + 1 + v % 3
		       : (size_t)-1 - v % 64;
	}
}

static int possible(size_t size)
{
	return size <= MALLOC_MAX;
}

static void op_malloc(struct input *in, int zeroed)
{
	size_t n = pick_size(in), count = 1, size = n;
	unsigned char *p;

	if (nlive == LIVE_MAX)
		return;
	if (zeroed) {
		count = take(in, 1) % 5;
		size = count * n;
		if (count && size / count != n)
			size = (size_t)-1;	/* the product overflows: NULL */
		p = calloc(count, n);
	} else {
		p = malloc(n);
	}
	if (p == NULL) {
		FUZZ_ASSERT(!possible(size) || host_pages_in_use() > 0,
			    "%s(%zu) NULL with no page limit reached", zeroed ? "calloc" : "malloc", size);
		return;
	}
	FUZZ_ASSERT(possible(size), "%s of %zu bytes succeeded", zeroed ? "calloc" : "malloc", size);
	check_new(p, size, -1);
	struct live *l = &live[nlive++];
	*l = (struct live){ p, size, 0 };
	if (zeroed)
		check_bytes(l, size, 0);
	l->fill = next_fill++;
	fill(l);
}

static void op_realloc(struct input *in)
{
	int i;
	size_t n = pick_size(in);

	if (!nlive)
		return;
	struct live *l = &live[i = take(in, 1) % nlive];
	unsigned char *p = realloc(l->p, n);

	if (n == 0) {
		FUZZ_ASSERT(p == NULL, "realloc(p, 0) returned %p", (void *)p);
		live[i] = live[--nlive];	/* freed */
		return;
	}
	if (p == NULL) {	/* failed: the old block is intact */
		check_bytes(l, l->size, l->fill);
		return;
	}
	FUZZ_ASSERT(possible(n), "realloc to %zu bytes succeeded", n);
	check_new(p, n, i);
	l->p = p;
	check_bytes(l, n < l->size ? n : l->size, l->fill);
	l->size = n;
	l->fill = next_fill++;
	fill(l);
}

static void op_free(struct input *in)
{
	int i;

	if (!nlive)
		return;
	struct live *l = &live[i = take(in, 1) % nlive];
	check_bytes(l, l->size, l->fill);
	free(l->p);
	live[i] = live[--nlive];
}

/* A double free must panic and change nothing. */
static void op_double_free(struct input *in)
{
	unsigned char *p = malloc(take(in, 1));

	if (p == NULL)
		return;
	free(p);
	if (setjmp(host_panic_env) == 0) {
		host_panic_armed = 1;
		free(p);
		host_panic_armed = 0;
		FUZZ_ASSERT(0, "double free of %p did not panic", (void *)p);
	}
	FUZZ_ASSERT(strstr(host_panic_msg, "double free") || strstr(host_panic_msg, "not a malloc"),
		    "double free panicked with: %s", host_panic_msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_malloc");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	nlive = 0;
	for (int op = 0; op < OPS_MAX && !input_done(&in); op++) {
		switch (take(&in, 1) % 10) {
		case 0: case 1: case 2: op_malloc(&in, 0); break;
		case 3: op_malloc(&in, 1); break;
		case 4: case 5: op_realloc(&in); break;
		case 6: case 7: op_free(&in); break;
		case 8: op_double_free(&in); break;
		case 9:	/* out of memory on demand from here on (0: none) */
			host_pages_set_limit(take(&in, 1) % 40);
			break;
		}
		fuzz_ops++;
		FUZZ_ASSERT(malloc_check() == 0, "malloc_check failed");
	}
	host_pages_set_limit(0);
	while (nlive) {
		check_bytes(&live[nlive - 1], live[nlive - 1].size, live[nlive - 1].fill);
		free(live[--nlive].p);
	}
	FUZZ_ASSERT(malloc_check() == 0, "malloc_check failed on the empty heap");

	//@ LAB 8 BEGIN
	/* The caches (lab 8) keep freed chunks and empty arenas until memory
	 * is short: trimmed, they give everything back. */
	malloc_trim();
	FUZZ_ASSERT(malloc_check() == 0, "malloc_check failed after malloc_trim");
	//@ LAB 8 END

	FUZZ_ASSERT(host_pages_in_use() <= 64, "%zu pages still held with nothing allocated",
		    host_pages_in_use());
	return 0;
}
