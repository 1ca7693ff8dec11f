//@ LAB 7 FILE
/*
 * ELF32 i386 executables, as the loader (elf.c) reads them: the file's
 * format (the System V ABI's) and the check every image passes before a
 * process is made from it.
 *
 * Pure: no kernel state, no allocation, nothing but the image read, so it
 * is also compiled on the host (fuzz/fuzz_elf.c). The image may sit at any
 * address and its headers at any offset: fields are read through
 * elf_header_read and elf_phdr_read, which copy bytes, never by casting a
 * pointer into the image (a misaligned phoff would be undefined
 * behaviour).
 */
#ifndef STRATA_ELFCHECK_H
#define STRATA_ELFCHECK_H

#include <stddef.h>
#include <stdint.h>

struct elf_header {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

#define ET_EXEC		2
#define EM_386		3
#define PT_LOAD		1
#define PF_X		1
#define PF_W		2
#define PHNUM_MAX	16

/* NULL if the image (size bytes) is an executable Strata can load, else
 * why not (a static string). An accepted image has 1..PHNUM_MAX program
 * headers inside the file; each PT_LOAD segment's bytes lie inside the
 * file and its memory inside USER_BINARY_BASE..UVIRT_START, without
 * wrapping, with filesz <= memsz; the entry point is inside an executable
 * PT_LOAD segment. */
const char *elf_check(const void *image, size_t size);

/* Copies of the header and of program header i of a checked image. */
void elf_header_read(const void *image, struct elf_header *h);
void elf_phdr_read(const void *image, int i, struct elf_phdr *ph);

#endif
