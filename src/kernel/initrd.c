//@ LAB 7 FILE
/* The user programs' archive: the first multiboot module (initrd.h). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/initrd.h"
#include "kernel/layout.h"
#include "kernel/lock.h"
#include "kernel/multiboot.h"
#include "kernel/process.h"
#include "kernel/printk.h"
#include "lib/string.h"
#include "mm/paging.h"
#include "mm/vpalloc.h"

static const uint8_t *archive;	/* mapped read-only, or NULL */
static size_t archive_size;
static int tried;
/* tried, archive, archive_size: the archive is mapped once. Rank
 * INITRD_RANK (process.h): taken before vpalloc's and paging's. */
static struct lock initrd_lock = LOCK_INIT("initrd", INITRD_RANK);

/* Maps the first module once (it stays mapped: it is never freed). */
static void initrd_map(void)
{
	uintptr_t pa, va;
	size_t n;

	lock_acquire(&initrd_lock);
	if (tried || bootinfo.n_modules == 0)
		goto out;
	tried = 1;
	pa = PAGE_ROUNDDOWN((uintptr_t)bootinfo.modules[0].start);
	n = (PAGE_ROUNDUP((uintptr_t)bootinfo.modules[0].end) - pa) / PAGE_SIZE;
	if (n == 0 || vpalloc(NULL, n, n, &va) != n)
		goto out;
	if (map_mem(NULL, pa, va, n, PTE_PRESENT) < 0) {
		vpfree(NULL, va, n);
		goto out;
	}
	archive = (const uint8_t *)(va + ((uintptr_t)bootinfo.modules[0].start - pa));
	archive_size = (size_t)(bootinfo.modules[0].end - bootinfo.modules[0].start);
	if (archive_size < 8 || memcmp(archive, INITRD_MAGIC, 8) != 0) {
		printk("initrd: module 0 is not a Strata archive\n");
		archive = NULL;
	}
out:
	lock_release(&initrd_lock);
}

/* Walks the records; fn returns nonzero to stop. Returns the record it
 * stopped at, or NULL. */
static const struct initrd_record *walk(int (*fn)(const struct initrd_record *, void *),
					void *arg)
{
	size_t off = 8;

	if (!tried)
		initrd_map();
	if (!archive)
		return NULL;
	while (off + sizeof(struct initrd_record) <= archive_size) {
		const struct initrd_record *r = (const void *)(archive + off);
		if (r->name[0] == 0 || r->name[INITRD_NAME - 1] != 0)
			return NULL;
		if (r->size > archive_size - off - sizeof(*r))
			return NULL;
		if (fn(r, arg))
			return r;
		off += sizeof(*r) + ((r->size + 3) & ~3u);
	}
	return NULL;
}

static int by_name(const struct initrd_record *r, void *name)
{
	return strcmp(r->name, name) == 0;
}

int initrd_find(const char *name, const void **data, size_t *size)
{
	const struct initrd_record *r = walk(by_name, (void *)name);

	if (!r)
		return -1;
	*data = r + 1;
	*size = r->size;
	return 0;
}

static int list_one(const struct initrd_record *r, void *fn)
{
	((void (*)(const char *, size_t))fn)(r->name, r->size);
	return 0;
}

void initrd_list(void (*fn)(const char *name, size_t size))
{
	walk(list_one, (void *)fn);
}
