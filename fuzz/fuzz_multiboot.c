/*
 * fuzz_multiboot: the multiboot information parser (src/kernel/multiboot.c,
 * boot_info) on arbitrary memory maps, module lists and flags.
 *
 * The kernel reads the boot loader's structures through P2V, at KERNBASE +
 * physical address; so does this host build (-m32): the first
 * KERNEL_BOOT_MAPPED bytes of "physical memory" are a window at KERNBASE
 * that is inaccessible except for the pages holding this input's
 * structures, each placed so it ends where an inaccessible page begins.
 * Reading a byte beyond a structure (an entry that runs past mmap_length, a
 * module past mods_count) faults at once. Addresses the input makes up may
 * point anywhere (the window is then all readable, as the kernel's low
 * memory is), beyond the window too: boot_info must refuse what it cannot
 * read, never fault. After boot_info: the memory regions are exactly
 * the well-formed entries of the map, the modules exactly the list, and
 * the reserved structures exactly the info, map, module list and strings.
 */
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "kernel/layout.h"
#include "kernel/multiboot.h"

#define WINDOW		KERNEL_BOOT_MAPPED
#define PAGE		4096u

int printk(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static unsigned char *window;	/* KERNBASE: physical 0 */

/* Makes [phys, phys + len) readable with these bytes; the page after it
 * stays inaccessible. Returns phys. */
static uint32_t place(uint32_t phys, const void *bytes, size_t len)
{
	uint32_t first = phys & ~(PAGE - 1), last = (phys + len + PAGE - 1) & ~(PAGE - 1);

	if (last > first)
		FUZZ_ASSERT(mprotect(window + first, last - first, PROT_READ | PROT_WRITE) == 0,
			    "mprotect");
	memcpy(window + phys, bytes, len);
	return phys;
}

/* A physical address where len bytes end at the end of page `page`. */
static uint32_t ending_at(unsigned page, size_t len)
{
	return (page + 1) * PAGE - (uint32_t)len;
}

static void reset_window(void)
{
	FUZZ_ASSERT(mprotect(window, WINDOW, PROT_NONE) == 0, "mprotect");
	madvise(window, WINDOW, MADV_DONTNEED);
	memset(&bootinfo, 0, sizeof(bootinfo));
}

struct want {
	int n_regions, n_modules, n_structures;
	struct memregion regions[MEMMAP_MAX], modules[MODULES_MAX], structures[5];
};

static void want_structure(struct want *w, uint64_t start, uint64_t end)
{
	w->structures[w->n_structures++] = (struct memregion){ start, end, 0 };
}

/* The memory map as a careful reader sees it: entries wholly inside the
 * buffer with at least their 20 bytes, up to the first that is not. */
static void want_mmap(struct want *w, const unsigned char *buf, uint32_t len)
{
	uint32_t p = 0;

	while (p + 24 <= len && w->n_regions < MEMMAP_MAX) {
		struct multiboot_mmap_entry e;

		memcpy(&e, buf + p, sizeof(e));
		if (e.size < 20 || e.size > len - p - 4)
			break;
		if (e.len != 0 && e.addr + e.len > e.addr)
			w->regions[w->n_regions++] = (struct memregion){ e.addr, e.addr + e.len, e.type };
		p += e.size + 4;
	}
}

static int same(const struct memregion *a, const struct memregion *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].type != b[i].type)
			return 0;
	return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_multiboot");
	window = mmap((void *)KERNBASE, WINDOW, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (window != (void *)KERNBASE) {
		fprintf(stderr, "fuzz_multiboot: cannot map the window at 0x%x\n", KERNBASE);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct multiboot_info mb = { 0 };
	struct want w = { 0 };
	static unsigned char mmap_buf[1024];
	static struct multiboot_module mods[16];
	uint32_t mmap_len = take(&in, 2) % sizeof(mmap_buf), nmods = take(&in, 1) % 12, info;
	uint32_t bad = take(&in, 1);	/* which addresses are made up */
	int ok, refused;

	reset_window();
	mb.flags = take(&in, 2);
	for (uint32_t i = 0; i < mmap_len; i++)
		mmap_buf[i] = (uint8_t)take(&in, 1);
	for (uint32_t i = 0; i < nmods; i++) {
		mods[i].start = take(&in, 4), mods[i].end = take(&in, 4);
		mods[i].string = 0, mods[i].reserved = 0;
	}
	/* the structures, each at the end of its own page (pages 16.. of the window) */
	mb.cmdline = place(ending_at(16, 10), "test=boot", 10);
	mb.boot_loader_name = place(ending_at(18, 5), "fuzz", 5);
	mb.mmap_addr = place(ending_at(20, mmap_len), mmap_buf, mmap_len);
	mb.mmap_length = mmap_len;
	mb.mods_addr = place(ending_at(22, nmods * sizeof(mods[0])), mods, nmods * sizeof(mods[0]));
	mb.mods_count = nmods;
	mb.mem_lower = take(&in, 2), mb.mem_upper = take(&in, 4);
	if (bad & 1)
		mb.mmap_addr = take(&in, 4);
	if (bad & 2)
		mb.mmap_length = take(&in, 4);
	if (bad & 4)
		mb.mods_addr = take(&in, 4);
	if (bad & 8)
		mb.mods_count = take(&in, 4);
	info = place(bad & 16 ? take(&in, 4) % (WINDOW - PAGE) : ending_at(24, sizeof(mb)), &mb,
		     sizeof(mb));

	/* Made-up addresses inside the window read what the kernel would
	 * read there (low memory it maps), so only beyond it may nothing be
	 * read; the honest layout keeps its guard pages. */
	if (bad & 31)
		FUZZ_ASSERT(mprotect(window, WINDOW, PROT_READ | PROT_WRITE) == 0, "mprotect");
	ok = boot_info(MULTIBOOT_BOOTLOADER_MAGIC, info);
	fuzz_ops++;

	/* What a careful boot_info keeps, from the input alone. */
	refused = (mb.flags & MB_INFO_MODS) && mb.mods_count > MODULES_MAX;
	want_structure(&w, info, info + sizeof(mb));
	if (mb.flags & MB_INFO_CMDLINE)
		want_structure(&w, mb.cmdline, mb.cmdline + 10);
	if (mb.flags & MB_INFO_LOADER_NAME)
		want_structure(&w, mb.boot_loader_name, mb.boot_loader_name + 5);
	if (mb.flags & MB_INFO_MMAP) {
		if (mb.mmap_addr != ending_at(20, mmap_len) || mb.mmap_length != mmap_len)
			return 0;	/* made up: it only had to not fault (it did not) */
		want_structure(&w, mb.mmap_addr, mb.mmap_addr + mmap_len);
		want_mmap(&w, mmap_buf, mmap_len);
	} else if (mb.flags & MB_INFO_MEMORY) {
		w.regions[0] = (struct memregion){ 0, mb.mem_lower * 1024ull, MEM_AVAILABLE };
		w.regions[1] = (struct memregion){ 0x100000, 0x100000 + mb.mem_upper * 1024ull,
						   MEM_AVAILABLE };
		w.n_regions = 2;
	}
	if ((mb.flags & MB_INFO_MODS) && !refused) {
		if (mb.mods_addr != ending_at(22, nmods * sizeof(mods[0])) || mb.mods_count != nmods)
			return 0;	/* made up */
		want_structure(&w, mb.mods_addr, mb.mods_addr + nmods * sizeof(mods[0]));
		for (uint32_t i = 0; i < nmods; i++)
			w.modules[w.n_modules++] = (struct memregion){ mods[i].start, mods[i].end, 0 };
	}
	FUZZ_ASSERT((ok < 0) == refused, "boot_info returned %d with %u modules", ok, mb.mods_count);
	if (refused)
		return 0;
	FUZZ_ASSERT(bootinfo.n_regions == w.n_regions && same(bootinfo.regions, w.regions, w.n_regions),
		    "memory regions: %d kept, %d expected", bootinfo.n_regions, w.n_regions);
	FUZZ_ASSERT(bootinfo.n_modules == w.n_modules && same(bootinfo.modules, w.modules, w.n_modules),
		    "modules: %d kept, %d expected", bootinfo.n_modules, w.n_modules);
	FUZZ_ASSERT(bootinfo.n_structures == w.n_structures &&
		    same(bootinfo.structures, w.structures, w.n_structures),
		    "reserved structures: %d kept, %d expected", bootinfo.n_structures, w.n_structures);
	return 0;
}
