//@ LAB 7 FILE
/*
 * The user programs' archive (lab 7): a multiboot module (GRUB `module`,
 * QEMU -initrd) made by tools/mkinitrd.py from the programs in build/user. Its format,
 * all little-endian:
 *
 *   "STRATAR1"                      8 bytes of magic
 *   record, record, ...             one per file:
 *     char name[INITRD_NAME];       NUL-padded, not empty
 *     uint32_t size;                bytes of data that follow
 *     data, padded with zeros to a multiple of 4 bytes
 *   a record with an empty name     the end
 */
#ifndef STRATA_INITRD_H
#define STRATA_INITRD_H

#include <stddef.h>
#include <stdint.h>

#define INITRD_MAGIC	"STRATAR1"
#define INITRD_NAME	28

struct initrd_record {
	char name[INITRD_NAME];
	uint32_t size;
};

/* The file name's data and size from the archive (mapped into kernel
 * virtual memory on first use); 0, or -1 if there is no archive or no such
 * file. */
int initrd_find(const char *name, const void **data, size_t *size);
/* Calls fn for each file (the monitor's `run` with no argument). */
void initrd_list(void (*fn)(const char *name, size_t size));

#endif
