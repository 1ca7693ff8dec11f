/*
 * The multiboot (v1) information the boot loader leaves for the kernel
 * (Multiboot Specification 0.6.96, section 3.3). All addresses in it are
 * physical; boot_info() copies what the kernel needs before low memory is
 * unmapped.
 */
#ifndef STRATA_MULTIBOOT_H
#define STRATA_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC	0x2BADB002
#define MB_INFO_MEMORY		0x001
#define MB_INFO_CMDLINE		0x004
#define MB_INFO_MODS		0x008
#define MB_INFO_MMAP		0x040
#define MB_INFO_LOADER_NAME	0x200

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

struct multiboot_mmap_entry {
	uint32_t size;		/* of the rest of the entry */
	uint64_t addr, len;
	uint32_t type;		/* 1 = available RAM */
} __attribute__((packed));

struct multiboot_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

/* What the kernel keeps of it. */
#define MEMMAP_MAX	32
#define MODULES_MAX	8
#define MEM_AVAILABLE	1

struct memregion {
	uint64_t start, end;	/* [start, end) */
	uint32_t type;
};

struct bootinfo {
	char cmdline[256];
	char loader[64];
	int n_regions;
	struct memregion regions[MEMMAP_MAX];
	int n_modules;
	struct memregion modules[MODULES_MAX];
	int n_structures;	/* where the multiboot structures themselves are */
	struct memregion structures[5];
};

extern struct bootinfo bootinfo;

/* Copies the multiboot information; returns 0, or -1 on a bad magic or
 * information it cannot use (said with printk): structures beyond the
 * boot mapping, more than MODULES_MAX modules. */
int boot_info(uint32_t magic, uint32_t info_phys);
void memmap_print(void);
/* The machine's memory in MiB: the end of the highest available region,
 * rounded up (QEMU -m 4M gives 4, though the BIOS keeps the top 128 KiB). */
uint32_t memory_mib(void);
const char *memtype_name(uint32_t type);

/* The value of "key=value" on the command line, copied into buf; returns 0
 * when the key is absent. A bare "key" gives an empty value. */
int cmdline_get(const char *key, char *buf, int size);

#endif
