#include "kernel/layout.h"
#include "kernel/multiboot.h"
#include "kernel/printk.h"
#include "lib/string.h"

struct bootinfo bootinfo;

/* Remembers where a multiboot structure is, so ppalloc never hands it out. */
static void add_structure(uint32_t start, uint32_t end)
{
	bootinfo.structures[bootinfo.n_structures++] = (struct memregion){ start, end, 0 };
}

/*
 * The boot loader's structures are read through P2V, so they must lie in
 * the memory start.S maps at KERNBASE: the first KERNEL_BOOT_MAPPED bytes.
 * GRUB and QEMU put them in low memory; a loader that does not is refused
 * with a message rather than faulted on (fuzz/fuzz_multiboot.c).
 */
static int readable(uint32_t phys, uint32_t len)
{
	return phys < KERNEL_BOOT_MAPPED && len <= KERNEL_BOOT_MAPPED - phys;
}

static void copy_string(char *dst, int size, uint32_t phys)
{
	const char *s = P2V(phys);
	int i;

	for (i = 0; i + 1 < size && readable(phys, i + 1) && s[i]; i++)
		dst[i] = s[i];
	dst[i] = '\0';
	add_structure(phys, phys + i + 1);
}

/* Keeps the entries that lie wholly inside the map, up to the first that
 * does not (or is shorter than its 20 bytes); drops empty ones. */
static void copy_mmap(const struct multiboot_info *mb)
{
	uint32_t off = 0, len = mb->mmap_length;

	while (len >= sizeof(struct multiboot_mmap_entry) &&
	       off <= len - sizeof(struct multiboot_mmap_entry) &&
	       bootinfo.n_regions < MEMMAP_MAX) {
		const struct multiboot_mmap_entry *e = P2V(mb->mmap_addr + off);

		if (e->size < 20 || e->size > len - off - sizeof(e->size))
			break;
		if (e->len != 0 && e->addr + e->len > e->addr) {
			struct memregion *r = &bootinfo.regions[bootinfo.n_regions++];
			r->start = e->addr;
			r->end = e->addr + e->len;
			r->type = e->type;
		}
		off += e->size + sizeof(e->size);
	}
	add_structure(mb->mmap_addr, mb->mmap_addr + len);
}

/* Without a memory map, the two basic fields still say how much RAM there is. */
static void basic_mmap(const struct multiboot_info *mb)
{
	bootinfo.regions[0] = (struct memregion){ 0, mb->mem_lower * 1024ull, MEM_AVAILABLE };
	bootinfo.regions[1] = (struct memregion){ 0x100000, 0x100000 + mb->mem_upper * 1024ull,
						  MEM_AVAILABLE };
	bootinfo.n_regions = 2;
}

static void copy_modules(const struct multiboot_info *mb)
{
	const struct multiboot_module *m = P2V(mb->mods_addr);

	for (uint32_t i = 0; i < mb->mods_count && i < MODULES_MAX; i++) {
		bootinfo.modules[i] = (struct memregion){ m[i].start, m[i].end, 0 };
		bootinfo.n_modules++;
	}
	add_structure(mb->mods_addr, mb->mods_addr + mb->mods_count * sizeof(*m));
}

int boot_info(uint32_t magic, uint32_t info_phys)
{
	const struct multiboot_info *mb = P2V(info_phys);

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		return -1;
	if (!readable(info_phys, sizeof(*mb))) {
		printk("[boot] multiboot information at 0x%08x is beyond the boot mapping\n",
		       info_phys);
		return -1;
	}
	if ((mb->flags & MB_INFO_MODS) && mb->mods_count > MODULES_MAX) {
		printk("[boot] %u boot modules: Strata takes at most %d\n", mb->mods_count,
		       MODULES_MAX);
		return -1;	/* unrecorded modules would be handed out as free pages */
	}
	if ((mb->flags & MB_INFO_MMAP) && !readable(mb->mmap_addr, mb->mmap_length)) {
		printk("[boot] memory map at 0x%08x is beyond the boot mapping\n", mb->mmap_addr);
		return -1;
	}
	if ((mb->flags & MB_INFO_MODS) &&
	    !readable(mb->mods_addr, mb->mods_count * sizeof(struct multiboot_module))) {
		printk("[boot] module list at 0x%08x is beyond the boot mapping\n", mb->mods_addr);
		return -1;
	}
	add_structure(info_phys, info_phys + sizeof(*mb));
	if (mb->flags & MB_INFO_CMDLINE)
		copy_string(bootinfo.cmdline, sizeof(bootinfo.cmdline), mb->cmdline);
	if (mb->flags & MB_INFO_LOADER_NAME)
		copy_string(bootinfo.loader, sizeof(bootinfo.loader), mb->boot_loader_name);
	if (mb->flags & MB_INFO_MMAP)
		copy_mmap(mb);
	else if (mb->flags & MB_INFO_MEMORY)
		basic_mmap(mb);
	if (mb->flags & MB_INFO_MODS)
		copy_modules(mb);
	return 0;
}

const char *memtype_name(uint32_t type)
{
	switch (type) {
	case 1: return "available";
	case 2: return "reserved";
	case 3: return "ACPI reclaimable";
	case 4: return "ACPI NVS";
	case 5: return "bad";
	default: return "unknown";
	}
}

void memmap_print(void)
{
	uint64_t total = 0;

	for (int i = 0; i < bootinfo.n_regions; i++) {
		const struct memregion *r = &bootinfo.regions[i];
		printk("[memmap] 0x%08x%08x-0x%08x%08x %s\n",
		       (uint32_t)(r->start >> 32), (uint32_t)r->start,
		       (uint32_t)((r->end - 1) >> 32), (uint32_t)(r->end - 1),
		       memtype_name(r->type));
		if (r->type == MEM_AVAILABLE)
			total += r->end - r->start;
	}
	printk("[memmap] %u KiB available\n", (uint32_t)(total >> 10));
}

uint32_t memory_mib(void)
{
	uint64_t top = 0;

	for (int i = 0; i < bootinfo.n_regions; i++)
		if (bootinfo.regions[i].type == MEM_AVAILABLE && bootinfo.regions[i].end > top)
			top = bootinfo.regions[i].end;
	return (uint32_t)((top + (1 << 20) - 1) >> 20);
}

int cmdline_get(const char *key, char *buf, int size)
{
	const char *p = bootinfo.cmdline;
	size_t klen = strlen(key);

	while (*p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) == 0 && (p[klen] == '=' || p[klen] == ' ' || !p[klen])) {
			int i = 0;
			p += klen;
			if (*p == '=')
				p++;
			while (*p && *p != ' ' && i + 1 < size)
				buf[i++] = *p++;
			buf[i] = '\0';
			return 1;
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}
