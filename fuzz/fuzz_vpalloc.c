//@ LAB 3 FILE
/*
 * fuzz_vpalloc: the virtual page allocators (src/mm/vpalloc.c, over
 * buddy.c) against a model, on the host.
 *
 * vpalloc.c's kernel dependencies are stubbed here: printk prints nothing,
 * boot_alloc is malloc, panic longjmps back (vpfree must panic exactly when
 * vpcheck says why). The input makes user-space vpallocators with vpcreate
 * (whose region checks are compared with vpalloc.h's rules for any
 * arguments) and then vpalloc, vpfree and vpcheck calls, valid and not,
 * against a model of the live ranges. After every operation: every live
 * range passes vpcheck, no two overlap, each lies inside its allocator's
 * region, page-aligned, and vpfree_count is the region less the live pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include "fuzz.h"
#include "kernel/layout.h"
#include "mm/buddy.h"
#include "mm/vpalloc.h"

#define LIVE_MAX	512
#define OPS_MAX		256

/* ---- the kernel, as far as vpalloc.c needs it ---- */

static jmp_buf panicked;
static int panic_armed;
static char panic_msg[256];

int printk(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

void *boot_alloc(size_t bytes)
{
	return malloc(bytes);
}

//@ LAB 7 BEGIN
/* Locks (lab 7 on): one thread here, so a lock is its flag; taking a held
 * lock or releasing a free one is a bug in vpalloc.c. A panic forgets the
 * locks held (the kernel would never release them). */
#define HELD_MAX	4
static struct lock *held[HELD_MAX];
static int n_held;

void lock_init(struct lock *lk, const char *name, int rank)
{
	*lk = (struct lock)LOCK_INIT(name, rank);
}

void lock_acquire(struct lock *lk)
{
	FUZZ_ASSERT(!lk->locked, "lock %s taken while held", lk->name);
	FUZZ_ASSERT(n_held < HELD_MAX, "more than %d locks held", HELD_MAX);
	lk->locked = 1;
	held[n_held++] = lk;
}

void lock_release(struct lock *lk)
{
	FUZZ_ASSERT(lk->locked && n_held > 0 && held[n_held - 1] == lk,
		    "lock %s released but not the last one taken", lk->name);
	lk->locked = 0;
	n_held--;
}

int lock_held(struct lock *lk)
{
	return lk->locked != 0;
}

struct lock *lock_scope_begin(struct lock *lk)
{
	if (lock_held(lk))
		return NULL;
	lock_acquire(lk);
	return lk;
}

void lock_scope_end(struct lock **taken)
{
	if (*taken)
		lock_release(*taken);
}

static void forget_locks(void)
{
	while (n_held > 0)
		held[--n_held]->locked = 0;
}
//@ LAB 7 END

void panic(const char *fmt, ...)
{
	va_list ap;

	//@ LAB 7 BEGIN
	forget_locks();
	//@ LAB 7 END
	va_start(ap, fmt);
	vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	FUZZ_ASSERT(panic_armed, "unexpected panic: %s", panic_msg);
	panic_armed = 0;
	longjmp(panicked, 1);
}

/* ---- the model ---- */

static struct vpallocator vpa;
static void *meta;
static struct range { uintptr_t start; size_t pages; } live[LIVE_MAX];
static int nlive;

/* vpcreate's rules (vpalloc.h), in 64 bits. */
static int region_ok(uintptr_t start, size_t n_pages)
{
	uint64_t end = (uint64_t)start + (uint64_t)n_pages * PAGE_SIZE;

	if ((start & (PAGE_SIZE - 1)) || n_pages == 0 || end > (1ull << 32))
		return 0;
	return (start < KERNBASE) == (end - PAGE_SIZE < KERNBASE);
}

static void check_all(void)
{
	size_t used = 0;

	//@ LAB 7 BEGIN
	FUZZ_ASSERT(n_held == 0, "%d lock(s) still held between calls", n_held);
	//@ LAB 7 END

	for (int i = 0; i < nlive; i++) {
		struct range *r = &live[i];
		const char *why = vpcheck(&vpa, r->start, r->pages);

		FUZZ_ASSERT(why == NULL, "live range 0x%lx+%zu: vpcheck says %s",
			    (unsigned long)r->start, r->pages, why);
		FUZZ_ASSERT((r->start & (PAGE_SIZE - 1)) == 0 && r->start >= vpa.start &&
			    (r->start - vpa.start) / PAGE_SIZE + r->pages <= vpa.n_pages,
			    "range 0x%lx+%zu outside the region", (unsigned long)r->start, r->pages);
		for (int j = i + 1; j < nlive; j++)
			FUZZ_ASSERT(r->start + r->pages * PAGE_SIZE <= live[j].start ||
				    live[j].start + live[j].pages * PAGE_SIZE <= r->start,
				    "live ranges 0x%lx and 0x%lx overlap", (unsigned long)r->start,
				    (unsigned long)live[j].start);
		used += r->pages;
	}
	FUZZ_ASSERT(vpfree_count(&vpa) == vpa.n_pages - used, "vpfree_count %zu, expected %zu",
		    vpfree_count(&vpa), vpa.n_pages - used);
}

static int find(uintptr_t start, size_t pages)
{
	for (int i = 0; i < nlive; i++)
		if (live[i].start == start && live[i].pages == pages)
			return i;
	return -1;
}

static void op_alloc(struct input *in)
{
	size_t min = take(in, 1) % 20, max = min + take(in, 1) % 40, got;
	uintptr_t start = 1;

	if (nlive == LIVE_MAX)
		return;
	got = vpalloc(&vpa, min, max, &start);
	if (min == 0 || min > max) {
		FUZZ_ASSERT(got == 0 && start == 1, "vpalloc(%zu, %zu) accepted", min, max);
		return;
	}
	if (got == 0)
		return;		/* full: check_all still checks vpfree_count */
	FUZZ_ASSERT(got >= min && got <= max, "vpalloc(%zu, %zu) gave %zu", min, max, got);
	live[nlive++] = (struct range){ start, got };
}

/* vpfree(start, pages) of any range: it panics exactly when vpcheck
 * refuses, and vpcheck refuses exactly what is not one live range. */
static void op_free(uintptr_t start, size_t pages)
{
	int i = find(start, pages);
	const char *why = vpcheck(&vpa, start, pages);

	if (start >= KERNBASE)
		return;		/* a kernel address goes to the kernel's allocator */
	FUZZ_ASSERT((why == NULL) == (i >= 0), "vpcheck(0x%lx, %zu) = %s, model: %s",
		    (unsigned long)start, pages, why ? why : "NULL", i >= 0 ? "live" : "not live");
	if (setjmp(panicked) == 0) {
		panic_armed = 1;
		vpfree(&vpa, start, pages);
		panic_armed = 0;
		FUZZ_ASSERT(i >= 0, "vpfree(0x%lx, %zu) of no live range did not panic",
			    (unsigned long)start, pages);
		live[i] = live[--nlive];
	} else {
		FUZZ_ASSERT(i < 0, "vpfree of the live range 0x%lx+%zu panicked: %s",
			    (unsigned long)start, pages, panic_msg);
	}
}

static void op_create(struct input *in)
{
	/* Any arguments: the result must follow the rules, nothing else. */
	struct vpallocator other;
	uintptr_t start = take(in, 4);
	size_t pages = take(in, 1) & 1 ? take(in, 4) : take(in, 2);
	int ok = region_ok(start, pages), got;
	void *m = NULL;

	if (ok && pages > (1u << 16))
		return;		/* valid but too big a metadata block for the fuzzer */
	if (ok)
		m = malloc(vpmeta_size(pages));
	got = vpcreate(&other, start, pages, m);
	FUZZ_ASSERT((got == 0) == ok, "vpcreate(0x%lx, %zu) = %d, the rules say %s",
		    (unsigned long)start, pages, got, ok ? "valid" : "invalid");
	free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_vpalloc");
	vpalloc_init();		/* the kernel's, for vpfree of kernel addresses */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	/* A user region: page-aligned, below KERNBASE, 1..4096 pages. */
	size_t pages = 1 + take(&in, 2) % 4096;
	uintptr_t start = (uintptr_t)(take(&in, 2) % ((KERNBASE >> PAGE_SHIFT) - pages)) << PAGE_SHIFT;

	meta = malloc(vpmeta_size(pages));
	FUZZ_ASSERT(vpcreate(&vpa, start, pages, meta) == 0, "vpcreate(0x%lx, %zu) refused",
		    (unsigned long)start, pages);
	nlive = 0;
	check_all();
	for (int op = 0; op < OPS_MAX && !input_done(&in); op++) {
		switch (take(&in, 1) % 7) {
		case 0: case 1: case 2: op_alloc(&in); break;
		case 3:
			if (nlive) {
				struct range *r = &live[take(&in, 1) % nlive];
				op_free(r->start, r->pages);
			}
			break;
		case 4:		/* near a live range: other counts, unaligned, inside */
			if (nlive) {
				struct range *r = &live[take(&in, 1) % nlive];
				uint32_t how = take(&in, 1);
				op_free(r->start + (how % 4 == 0 ? PAGE_SIZE : how % 4 == 1 ? 8 : 0),
					r->pages + (how / 4) % 3 - 1);
			}
			break;
		case 5:
			op_free(vpa.start + (take(&in, 2) << PAGE_SHIFT) - PAGE_SIZE, take(&in, 1));
			break;
		case 6: op_create(&in); break;
		}
		fuzz_ops++;
		check_all();
	}
	free(meta);
	return 0;
}
