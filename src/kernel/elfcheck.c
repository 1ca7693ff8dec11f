//@ LAB 7 FILE
/* The ELF image check (elfcheck.h); the format is the System V ABI's. */
#include <stddef.h>
#include <stdint.h>

#include "kernel/elfcheck.h"
#include "kernel/layout.h"
#include "kernel/syscall_abi.h"

/* Bytes, not a cast: the source may be misaligned. */
static void copy_in(void *dst, const uint8_t *src, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = *src++;
}

void elf_header_read(const void *image, struct elf_header *h)
{
	copy_in(h, image, sizeof(*h));
}

void elf_phdr_read(const void *image, int i, struct elf_phdr *ph)
{
	struct elf_header h;

	elf_header_read(image, &h);
	copy_in(ph, (const uint8_t *)image + h.phoff + (size_t)i * sizeof(*ph), sizeof(*ph));
}

/* One PT_LOAD segment: inside the file and inside the binary's part of
 * user space, without wrapping. */
static const char *check_segment(const struct elf_phdr *ph, size_t size)
{
	if (ph->filesz > ph->memsz)
		return "a segment's file size exceeds its memory size";
	if (ph->offset > size || ph->filesz > size - ph->offset)
		return "a segment lies outside the file";
	if (ph->vaddr < USER_BINARY_BASE || ph->vaddr + ph->memsz < ph->vaddr ||
	    ph->vaddr + ph->memsz > UVIRT_START)
		return "a segment lies outside 0x00400000..0x80000000";
	return NULL;
}

const char *elf_check(const void *image, size_t size)
{
	static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };
	struct elf_header h;
	struct elf_phdr ph;
	const char *why;
	int entry_ok = 0;

	if (size < sizeof(h))
		return "not an ELF file";
	elf_header_read(image, &h);
	for (int i = 0; i < 4; i++)
		if (h.ident[i] != magic[i])
			return "not an ELF file";
	if (h.ident[4] != 1 || h.ident[5] != 1 || h.ident[6] != 1 || h.version != 1)
		return "not 32-bit little-endian ELF version 1";
	if (h.type != ET_EXEC || h.machine != EM_386)
		return "not an i386 executable";
	if (h.phentsize != sizeof(ph) || h.phnum == 0 || h.phnum > PHNUM_MAX)
		return "bad program header size or count";
	if (h.phoff > size || (size_t)h.phnum * h.phentsize > size - h.phoff)
		return "program headers outside the file";
	for (int i = 0; i < h.phnum; i++) {
		elf_phdr_read(image, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		if ((why = check_segment(&ph, size)))
			return why;
		if ((ph.flags & PF_X) && h.entry >= ph.vaddr && h.entry < ph.vaddr + ph.memsz)
			entry_ok = 1;
	}
	return entry_ok ? NULL : "the entry point is in no executable segment";
}
