//@ LAB 2 FILE
/*
 * Host benchmark of the buddy allocator (src/mm/buddy.c) against a baseline:
 * the first-fit range list of the Ghost seed, one address-ordered list of
 * used and free ranges, coalescing on free (written below, only for this
 * comparison).
 *
 * Workload, the same for both: keep L live allocations of 1..16 units
 * (uniform); each step frees a random live one and allocates a new one of a
 * random size in its place. The cost of one such alloc+free pair is timed
 * with CLOCK_MONOTONIC over many steps, after a warm-up that reaches a steady
 * state, best of REPS repetitions. Units are 4 KiB pages, so the managed
 * sizes 16 MiB .. 4 GiB are 4096 .. 2^20 units.
 *
 * Targets (informational; the exit status is 0 either way):
 *   - buddy cost grows at most 1.5x from 16 MiB to 4 GiB;
 *   - at 4096 live allocations buddy is >= 100x cheaper than the list.
 * A combination whose average live load (L * 8.5 units) exceeds half the
 * managed units is not run ("n/a"): allocations would mostly fail, and a
 * failing allocation is no measure of either allocator.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mm/buddy.h"

#define REPS		3
#define MAX_SIZE	16
#define NSIZES		5
#define NLIVES		3

static const size_t managed_units[NSIZES] = { 4096, 16384, 65536, 262144, 1048576 };
static const char *const managed_name[NSIZES] = { "16 MiB", "64 MiB", "256 MiB", "1 GiB", "4 GiB" };
static const size_t lives[NLIVES] = { 16, 256, 4096 };

/* ---- the workload ------------------------------------------------------ */

struct ops {
	size_t n;		/* steps, after the warm-up ones */
	size_t warm;
	uint32_t *victim;	/* index of the live allocation to free */
	uint8_t *size;		/* size of the new allocation */
	uint8_t *fill;		/* sizes of the L initial allocations */
};

struct slot {
	size_t start, count;	/* count 0: empty (an allocation failed) */
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct ops make_ops(size_t live, size_t steps, size_t warm)
{
	struct ops o = { steps, warm, NULL, NULL, NULL };
	size_t total = steps + warm;

	o.victim = malloc(total * sizeof(*o.victim));
	o.size = malloc(total);
	o.fill = malloc(live);
	if (!o.victim || !o.size || !o.fill) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < live; i++)
		o.fill[i] = 1 + rnd() % MAX_SIZE;
	for (size_t i = 0; i < total; i++) {
		o.victim[i] = rnd() % live;
		o.size[i] = 1 + rnd() % MAX_SIZE;
	}
	return o;
}

static void free_ops(struct ops *o)
{
	free(o->victim);
	free(o->size);
	free(o->fill);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- baseline: the range list of the Ghost seed ---------------------------
 *
 * The seed's address range pool keeps one list of ALL ranges, used and free,
 * by ascending address. Allocation walks it from the start for the first free
 * range that is big enough and splits it; a free walks it to find the range
 * by its start, marks it free and merges it with free neighbours. Both walk
 * past every live allocation, so their cost grows with the number of live
 * ranges.
 */

struct range {
	size_t start, count;
	int used;
	struct range *next;
};

struct list_alloc {
	struct range *head;	/* every range, by ascending start */
	struct range *spare;	/* unused nodes */
	struct range *pool;
};

static void list_init(struct list_alloc *a, size_t units, size_t max_nodes)
{
	a->pool = malloc(max_nodes * sizeof(*a->pool));
	if (!a->pool) {
		perror("malloc");
		exit(1);
	}
	a->spare = NULL;
	for (size_t i = 1; i < max_nodes; i++) {
		a->pool[i].next = a->spare;
		a->spare = &a->pool[i];
	}
	a->head = &a->pool[0];
	*a->head = (struct range){ 0, units, 0, NULL };
}

static void list_put_node(struct list_alloc *a, struct range *r)
{
	r->next = a->spare;
	a->spare = r;
}

static size_t list_alloc(struct list_alloc *a, size_t count, size_t *start)
{
	for (struct range *r = a->head; r != NULL; r = r->next) {
		if (r->used || r->count < count)
			continue;
		if (r->count > count) {		/* split: the tail stays free */
			struct range *tail = a->spare;
			a->spare = tail->next;
			*tail = (struct range){ r->start + count, r->count - count, 0, r->next };
			r->next = tail;
			r->count = count;
		}
		r->used = 1;
		*start = r->start;
		return count;
	}
	return 0;
}

static void list_free(struct list_alloc *a, size_t start, size_t count)
{
	struct range *prev = NULL, *r = a->head;

	while (r != NULL && r->start != start) {
		prev = r;
		r = r->next;
	}
	if (r == NULL || !r->used || r->count != count) {
		fprintf(stderr, "list_free: bad free of %zu+%zu\n", start, count);
		exit(1);
	}
	r->used = 0;
	if (r->next && !r->next->used) {
		struct range *n = r->next;
		r->count += n->count;
		r->next = n->next;
		list_put_node(a, n);
	}
	if (prev && !prev->used) {
		prev->count += r->count;
		prev->next = r->next;
		list_put_node(a, r);
	}
}

static size_t list_free_units(const struct list_alloc *a)
{
	size_t sum = 0;

	for (const struct range *r = a->head; r; r = r->next)
		if (!r->used)
			sum += r->count;
	return sum;
}

static size_t list_length(const struct list_alloc *a)
{
	size_t len = 0;

	for (const struct range *r = a->head; r; r = r->next)
		len++;
	return len;
}

/* ---- one timed run per allocator ---------------------------------------- */

struct result {
	double ns;		/* per pair */
	size_t fails;
	size_t ranges;		/* list only: ranges (used and free) at the end */
};

static void check_total(const char *who, size_t free_units, size_t units)
{
	if (free_units != units) {
		fprintf(stderr, "%s: %zu of %zu units free after freeing everything\n",
			who, free_units, units);
		exit(1);
	}
}

static struct result run_buddy(size_t units, size_t live, const struct ops *o)
{
	void *meta = malloc(buddy_meta_size(units));
	struct slot *s = calloc(live, sizeof(*s));
	struct buddy *b;
	struct result res = { 0, 0, 0 };
	double t0 = 0;

	if (!meta || !s) {
		perror("malloc");
		exit(1);
	}
	b = buddy_init(meta, units);
	for (size_t i = 0; i < live; i++)
		s[i].count = buddy_alloc(b, o->fill[i], o->fill[i], &s[i].start);
	for (size_t i = 0; i < o->warm + o->n; i++) {
		struct slot *v = &s[o->victim[i]];

		if (i == o->warm)
			t0 = now_ns();
		if (v->count)
			buddy_free(b, v->start, v->count);
		v->count = buddy_alloc(b, o->size[i], o->size[i], &v->start);
		res.fails += i >= o->warm && v->count == 0;
	}
	res.ns = (now_ns() - t0) / o->n;
	for (size_t i = 0; i < live; i++)
		if (s[i].count && buddy_free(b, s[i].start, s[i].count) != BUDDY_OK) {
			fprintf(stderr, "buddy: bad free\n");
			exit(1);
		}
	check_total("buddy", buddy_free_units(b), units);
	free(s);
	free(meta);
	return res;
}

static struct result run_list(size_t units, size_t live, const struct ops *o)
{
	struct list_alloc a;
	struct slot *s = calloc(live, sizeof(*s));
	struct result res = { 0, 0, 0 };
	double t0 = 0;

	if (!s) {
		perror("malloc");
		exit(1);
	}
	list_init(&a, units, 2 * live + 2);	/* used + free ranges <= 2 live + 1 */
	for (size_t i = 0; i < live; i++)
		s[i].count = list_alloc(&a, o->fill[i], &s[i].start);
	for (size_t i = 0; i < o->warm + o->n; i++) {
		struct slot *v = &s[o->victim[i]];

		if (i == o->warm)
			t0 = now_ns();
		if (v->count)
			list_free(&a, v->start, v->count);
		v->count = list_alloc(&a, o->size[i], &v->start);
		res.fails += i >= o->warm && v->count == 0;
	}
	res.ns = (now_ns() - t0) / o->n;
	res.ranges = list_length(&a);
	for (size_t i = 0; i < live; i++)
		if (s[i].count)
			list_free(&a, s[i].start, s[i].count);
	check_total("list", list_free_units(&a), units);
	free(s);
	free(a.pool);
	return res;
}

static struct result best_of(struct result (*run)(size_t, size_t, const struct ops *),
			     size_t units, size_t live, const struct ops *o)
{
	struct result best = run(units, live, o);

	for (int r = 1; r < REPS; r++) {
		struct result x = run(units, live, o);
		if (x.ns < best.ns)
			best = x;
	}
	return best;
}

/* ---- the table ------------------------------------------------------------ */

static int feasible(size_t units, size_t live)
{
	return live * (MAX_SIZE + 1) <= units;	/* L * 8.5 <= units / 2 */
}

/* Steps per timed run: fewer for the list when it is slow (long lists). */
static size_t steps_for(size_t live, int is_list)
{
	if (!is_list)
		return 200000;
	return live <= 16 ? 200000 : live <= 256 ? 50000 : 10000;
}

int main(void)
{
	static struct result bud[NSIZES][NLIVES], lst[NSIZES][NLIVES];
	double t_start = now_ns();

	printf("buddy vs first-fit list: ns per alloc+free pair, best of %d\n", REPS);
	printf("(live allocations of 1..%d units; 1 unit = 4 KiB; ranges: length of the\n"
	       " list, used and free ranges, at the end; fails: failed allocations)\n\n",
	       MAX_SIZE);
	printf("%-8s %8s %9s %6s %10s %10s %11s %7s %7s\n", "managed", "units", "meta KiB",
	       "live", "buddy ns", "list ns", "list/buddy", "ranges", "fails");
	for (int i = 0; i < NSIZES; i++) {
		for (int j = 0; j < NLIVES; j++) {
			size_t units = managed_units[i], live = lives[j];

			printf("%-8s %8zu %9zu %6zu ", managed_name[i], units,
			       buddy_meta_size(units) / 1024, live);
			if (!feasible(units, live)) {
				printf("%10s %10s %11s %7s %7s\n", "n/a", "n/a", "n/a", "-", "-");
				continue;
			}
			/* one sequence; the list, when slow, times a prefix of it */
			struct ops o = make_ops(live, steps_for(live, 0), 4 * live + 1000);
			bud[i][j] = best_of(run_buddy, units, live, &o);
			o.n = steps_for(live, 1);
			lst[i][j] = best_of(run_list, units, live, &o);
			free_ops(&o);
			printf("%10.1f %10.1f %10.1fx %7zu %7zu\n", bud[i][j].ns, lst[i][j].ns,
			       lst[i][j].ns / bud[i][j].ns, lst[i][j].ranges,
			       bud[i][j].fails + lst[i][j].fails);
			fflush(stdout);
		}
	}

	printf("\nbuddy cost growth with the managed size:\n");
	for (int j = 0; j < NLIVES; j++) {
		int first = -1;
		for (int i = 0; i < NSIZES && first < 0; i++)
			if (feasible(managed_units[i], lives[j]))
				first = i;
		if (first < 0 || first == NSIZES - 1)
			continue;
		double g = bud[NSIZES - 1][j].ns / bud[first][j].ns;
		if (first == 0)
			printf("  %4zu live: %s -> 4 GiB: %.2fx (target <= 1.5x): %s\n", lives[j],
			       managed_name[first], g, g <= 1.5 ? "PASS" : "MISS");
		else
			printf("  %4zu live: %s -> 4 GiB: %.2fx (16 MiB cannot hold %zu live; "
			       "target <= 1.5x): %s\n", lives[j], managed_name[first], g, lives[j],
			       g <= 1.5 ? "PASS" : "MISS");
	}

	printf("\nlist/buddy at %zu live (target >= 100x):\n", lives[NLIVES - 1]);
	for (int i = 0; i < NSIZES; i++) {
		if (!feasible(managed_units[i], lives[NLIVES - 1]))
			continue;
		double r = lst[i][NLIVES - 1].ns / bud[i][NLIVES - 1].ns;
		printf("  %-8s %7.1fx: %s\n", managed_name[i], r, r >= 100 ? "PASS" : "MISS");
	}
	printf("\ntotal time %.1f s\n", (now_ns() - t_start) / 1e9);
	return 0;
}
