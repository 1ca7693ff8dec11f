//@ LAB 2 FILE
/*
 * Host benchmark of the buddy allocator (src/mm/buddy.c) against two
 * baselines written here, only for this comparison:
 *   - the first-fit range list of the Ghost seed: one address-ordered list
 *     of used and free ranges, coalescing on free;
 *   - a free-list buddy: the textbook buddy, with a doubly linked free list
 *     per order through per-unit link arrays, a per-unit order byte and a
 *     per-unit allocation count; the same exact-count semantics as
 *     buddy.h (alloc of min..max units, free of exactly that count,
 *     checked), but it takes any block of the chosen order (the list's
 *     head), not the lowest, and spends about 13 bytes of metadata a unit.
 *
 * Workload, the same for all three: keep L live allocations of 1..16 units
 * (uniform); each step frees a random live one and allocates a new one of a
 * random size in its place. Units are 4 KiB pages, so the managed sizes
 * 16 MiB .. 4 GiB are 4096 .. 2^20 units.
 *
 *   bench_buddy count   runs every combination once, after a warm-up that
 *                       reaches a steady state; the steps are bracketed by
 *                       callgrind client requests, so under
 *                       valgrind --tool=callgrind --collect-atstart=no each
 *                       combination's instructions go to a dump of its own
 *                       (bench/bench.py reads them); prints the steps run
 *                       and the metadata sizes
 *   bench_buddy time R  R interleaved repeats of the timed combinations;
 *                       prints the median ns per alloc+free pair
 *
 * bench/bench.py (make bench) turns both into figures with targets and
 * verdicts. A combination whose average live load (L * 8.5 units) exceeds
 * half the managed units is not run: allocations would mostly fail.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "mm/buddy.h"

#define MAX_SIZE	16
#define NSIZES		5
#define NLIVES		3

static const size_t managed_units[NSIZES] = { 4096, 16384, 65536, 262144, 1048576 };
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

/* This thread's CPU time: what it spends preempted on a loaded machine is
 * not counted. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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


/* ---- baseline 2: a free-list buddy ----------------------------------------
 *
 * tag[u] is k + 1 when a free block of order k starts at unit u (0
 * otherwise); the free blocks of order k form a doubly linked list through
 * next[] and prev[] (unit indexes, NIL at the ends) from head[k]. count[u]
 * is the count of the allocation that starts at u (0: none), which is all a
 * free needs to check it.
 */

#define NIL	UINT32_MAX

struct flbuddy {
	size_t n;
	unsigned orders;
	size_t nfree[BUDDY_MAX_ORDER];
	uint32_t head[BUDDY_MAX_ORDER];
	uint8_t *tag;
	uint32_t *next, *prev, *count;
};

static unsigned fl_log2(size_t x)
{
	return 63 - __builtin_clzll(x);
}

static unsigned fl_ceil_log2(size_t x)
{
	return x <= 1 ? 0 : fl_log2(x - 1) + 1;
}

static void fl_push(struct flbuddy *f, unsigned k, size_t s)
{
	f->tag[s] = k + 1;
	f->prev[s] = NIL;
	f->next[s] = f->head[k];
	if (f->head[k] != NIL)
		f->prev[f->head[k]] = s;
	f->head[k] = s;
	f->nfree[k]++;
}

static void fl_unlink(struct flbuddy *f, unsigned k, size_t s)
{
	f->tag[s] = 0;
	if (f->prev[s] != NIL)
		f->next[f->prev[s]] = f->next[s];
	else
		f->head[k] = f->next[s];
	if (f->next[s] != NIL)
		f->prev[f->next[s]] = f->prev[s];
	f->nfree[k]--;
}

/* The largest aligned block at p that ends at or before end. */
static unsigned fl_fit(const struct flbuddy *f, size_t p, size_t end)
{
	unsigned k = fl_log2(end - p);

	if (p != 0 && (unsigned)__builtin_ctzll(p) < k)
		k = __builtin_ctzll(p);
	return k < f->orders ? k : f->orders - 1;
}

static void fl_free_block(struct flbuddy *f, size_t s, unsigned k)
{
	while (k + 1 < f->orders) {
		size_t b = s ^ ((size_t)1 << k);

		if (b >= f->n || f->tag[b] != k + 1)
			break;
		fl_unlink(f, k, b);
		s &= ~((size_t)1 << k);
		k++;
	}
	fl_push(f, k, s);
}

static void fl_init(struct flbuddy *f, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	f->orders = fl_log2(n) + 1;
	f->tag = calloc(n, 1);
	f->next = malloc(n * sizeof(uint32_t));
	f->prev = malloc(n * sizeof(uint32_t));
	f->count = calloc(n, sizeof(uint32_t));
	if (!f->tag || !f->next || !f->prev || !f->count) {
		perror("malloc");
		exit(1);
	}
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++)
		f->head[k] = NIL;
	for (size_t p = 0; p < n;) {
		unsigned k = fl_fit(f, p, n);
		fl_push(f, k, p);
		p += (size_t)1 << k;
	}
}

static void fl_destroy(struct flbuddy *f)
{
	free(f->tag);
	free(f->next);
	free(f->prev);
	free(f->count);
}

static size_t fl_alloc(struct flbuddy *f, size_t min, size_t max, size_t *start)
{
	unsigned need = fl_ceil_log2(min), want = fl_ceil_log2(max), k;
	int order = -1;
	size_t s, used, half;

	for (k = want; k < f->orders && order < 0; k++)
		if (f->nfree[k] > 0)
			order = k;
	for (k = want < f->orders ? want : f->orders; order < 0 && k-- > need;)
		if (f->nfree[k] > 0)
			order = k;
	if (order < 0)
		return 0;
	k = order;
	s = f->head[k];
	fl_unlink(f, k, s);
	used = max < ((size_t)1 << k) ? max : (size_t)1 << k;
	*start = s;
	f->count[s] = used;
	while (used < ((size_t)1 << k)) {
		half = (size_t)1 << --k;
		if (used <= half) {
			fl_push(f, k, s + half);
		} else {
			s += half;
			used -= half;
		}
	}
	return f->count[*start];
}

static int fl_free(struct flbuddy *f, size_t start, size_t count)
{
	size_t end = start + count;

	if (start >= f->n || count > f->n - start || count == 0 || f->count[start] != count)
		return -1;
	f->count[start] = 0;
	for (size_t p = start; p < end;) {
		unsigned k = fl_fit(f, p, end);
		fl_free_block(f, p, k);
		p += (size_t)1 << k;
	}
	return 0;
}

static size_t fl_free_units(const struct flbuddy *f)
{
	size_t sum = 0;

	for (unsigned k = 0; k < f->orders; k++)
		sum += f->nfree[k] << k;
	return sum;
}

static size_t fl_meta_size(size_t n)
{
	return n * (1 + 3 * sizeof(uint32_t));
}

/* ---- one run per allocator -------------------------------------------------- */

enum alloc_kind { BUDDY, FLBUDDY, LIST, NKINDS };
static const char *const kind_name[NKINDS] = { "buddy", "flbuddy", "list" };

static void check_total(const char *who, size_t free_units, size_t units)
{
	if (free_units != units) {
		fprintf(stderr, "%s: %zu of %zu units free after freeing everything\n",
			who, free_units, units);
		exit(1);
	}
}

/* Dump name for callgrind: "kind/units/live". */
static char dump_name[64];

static void measure_begin(int count_mode, const char *kind, size_t units, size_t live)
{
	if (!count_mode)
		return;
	snprintf(dump_name, sizeof(dump_name), "%s/%zu/%zu", kind, units, live);
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
}

static void measure_end(int count_mode)
{
	if (!count_mode)
		return;
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT(dump_name);
}

/* One run of allocator `kind`: fill, warm up, then o->n measured steps.
 * Returns ns per step (the count mode's time is not meaningful). */
static double run(enum alloc_kind kind, size_t units, size_t live, const struct ops *o,
		  int count_mode)
{
	struct slot *s = calloc(live, sizeof(*s));
	void *meta = NULL;
	struct buddy *b = NULL;
	struct flbuddy f;
	struct list_alloc a;
	double t0 = 0, t1;

	if (!s) {
		perror("malloc");
		exit(1);
	}
	if (kind == BUDDY) {
		if ((meta = malloc(buddy_meta_size(units))) == NULL) {
			perror("malloc");
			exit(1);
		}
		b = buddy_init(meta, units);
	} else if (kind == FLBUDDY) {
		fl_init(&f, units);
	} else {
		list_init(&a, units, 2 * live + 2);	/* used + free ranges <= 2 live + 1 */
	}
#define ALLOC(sl, sz) ((sl)->count = kind == BUDDY ? buddy_alloc(b, sz, sz, &(sl)->start) : \
		       kind == FLBUDDY ? fl_alloc(&f, sz, sz, &(sl)->start) : \
		       list_alloc(&a, sz, &(sl)->start))
#define FREE(sl) (kind == BUDDY ? (void)buddy_free(b, (sl)->start, (sl)->count) : \
		  kind == FLBUDDY ? (void)fl_free(&f, (sl)->start, (sl)->count) : \
		  list_free(&a, (sl)->start, (sl)->count))
	for (size_t i = 0; i < live; i++)
		ALLOC(&s[i], o->fill[i]);
	for (size_t i = 0; i < o->warm + o->n; i++) {
		struct slot *v = &s[o->victim[i]];

		if (i == o->warm) {
			measure_begin(count_mode, kind_name[kind], units, live);
			t0 = now_ns();
		}
		if (v->count)
			FREE(v);
		ALLOC(v, o->size[i]);
	}
	t1 = now_ns();
	measure_end(count_mode);
	for (size_t i = 0; i < live; i++)
		if (s[i].count)
			FREE(&s[i]);
#undef ALLOC
#undef FREE
	if (kind == BUDDY) {
		check_total("buddy", buddy_free_units(b), units);
		free(meta);
	} else if (kind == FLBUDDY) {
		check_total("flbuddy", fl_free_units(&f), units);
		fl_destroy(&f);
	} else {
		check_total("list", list_free_units(&a), units);
		free(a.pool);
	}
	free(s);
	return (t1 - t0) / o->n;
}

/* ---- the combinations ------------------------------------------------------ */

static int feasible(size_t units, size_t live)
{
	return live * (MAX_SIZE + 1) <= units;	/* L * 8.5 <= units / 2 */
}

/* Steps per measured run: fewer for the list (it walks every live range). */
static size_t steps_for(enum alloc_kind kind, size_t live, int count_mode)
{
	if (kind != LIST)
		return count_mode ? 20000 : 200000;
	if (count_mode)
		return live <= 256 ? 4000 : 1000;
	return live <= 16 ? 200000 : live <= 256 ? 50000 : 5000;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	int count_mode = argc > 1 && strcmp(argv[1], "count") == 0;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	int nr;

	if (argc < 2 || (!count_mode && strcmp(argv[1], "time") != 0) || reps < 1) {
		fprintf(stderr, "usage: bench_buddy count | bench_buddy time [REPS]\n"
			"  (make bench runs both through bench/bench.py)\n");
		return 2;
	}
	nr = count_mode ? 1 : reps <= 64 ? reps : 64;
	for (int i = 0; i < NSIZES; i++)
		printf("meta %zu buddy %zu flbuddy %zu\n", managed_units[i],
		       buddy_meta_size(managed_units[i]), fl_meta_size(managed_units[i]));
	for (int i = 0; i < NSIZES; i++) {
		for (int j = 0; j < NLIVES; j++) {
			size_t units = managed_units[i], live = lives[j];
			double ns[NKINDS][64];

			if (!feasible(units, live))
				continue;
			/* The timed runs: only where the figures use them. */
			if (!count_mode && live != 4096 && !(live == 16 && (i == 0 || i == NSIZES - 1)))
				continue;
			rng = 0x9e3779b97f4a7c15ull;
			struct ops o = make_ops(live, steps_for(BUDDY, live, count_mode),
						4 * live + 1000);
			for (int r = 0; r < nr; r++) {
				for (int k = 0; k < NKINDS; k++) {
					o.n = steps_for(k, live, count_mode);
					ns[k][r] = run(k, units, live, &o, count_mode);
				}
			}
			for (int k = 0; k < NKINDS; k++) {
				qsort(ns[k], nr, sizeof(double), cmp_double);
				printf("%s %s %zu %zu steps %zu median_ns %.2f\n",
				       count_mode ? "count" : "time", kind_name[k], units, live,
				       steps_for(k, live, count_mode), ns[k][nr / 2]);
			}
			free_ops(&o);
			fflush(stdout);
		}
	}
	return 0;
}
