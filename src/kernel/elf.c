//@ LAB 7 FILE
/* The ELF loader (elf.h); the format is the System V ABI's (ELF32, i386). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/elf.h"
#include "kernel/layout.h"
#include "kernel/syscall_abi.h"
#include "kernel/uvm.h"
#include "lib/string.h"

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

static const struct elf_phdr *phdrs(const void *image)
{
	const struct elf_header *h = image;

	return (const void *)((const uint8_t *)image + h->phoff);
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
	const struct elf_header *h = image;
	const char *why;
	int entry_ok = 0;

	if (size < sizeof(*h) || memcmp(h->ident, "\177ELF", 4) != 0)
		return "not an ELF file";
	if (h->ident[4] != 1 || h->ident[5] != 1 || h->ident[6] != 1 || h->version != 1)
		return "not 32-bit little-endian ELF version 1";
	if (h->type != ET_EXEC || h->machine != EM_386)
		return "not an i386 executable";
	if (h->phentsize != sizeof(struct elf_phdr) || h->phnum == 0 || h->phnum > PHNUM_MAX)
		return "bad program header size or count";
	if (h->phoff > size || (size_t)h->phnum * h->phentsize > size - h->phoff)
		return "program headers outside the file";
	for (int i = 0; i < h->phnum; i++) {
		const struct elf_phdr *ph = &phdrs(image)[i];
		if (ph->type != PT_LOAD)
			continue;
		if ((why = check_segment(ph, size)))
			return why;
		if ((ph->flags & PF_X) && h->entry >= ph->vaddr &&
		    h->entry < ph->vaddr + ph->memsz)
			entry_ok = 1;
	}
	return entry_ok ? NULL : "the entry point is in no executable segment";
}

/* Whether any writable segment covers the page at va. */
static int page_writable(const void *image, uintptr_t va)
{
	const struct elf_header *h = image;

	for (int i = 0; i < h->phnum; i++) {
		const struct elf_phdr *ph = &phdrs(image)[i];
		if (ph->type == PT_LOAD && (ph->flags & PF_W) && ph->memsz &&
		    va + PAGE_SIZE > ph->vaddr && va < ph->vaddr + ph->memsz)
			return 1;
	}
	return 0;
}

int elf_load(struct process *p, const void *image, size_t size, uintptr_t *entry)
{
	const struct elf_header *h = image;
	uintptr_t end = USER_BINARY_BASE, va;

	(void)size;
	/* Map every page writable and copy, then take write away from text. */
	for (int i = 0; i < h->phnum; i++) {
		const struct elf_phdr *ph = &phdrs(image)[i];
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		for (va = PAGE_ROUNDDOWN(ph->vaddr); va < ph->vaddr + ph->memsz; va += PAGE_SIZE)
			if (!ucheck_mapped(p, va) && umap_zero(p, va, 1) < 0)
				return -ENOMEM;
		memcpy((void *)ph->vaddr, (const uint8_t *)image + ph->offset, ph->filesz);
		if (ph->vaddr + ph->memsz > end)
			end = ph->vaddr + ph->memsz;
	}
	for (int i = 0; i < h->phnum; i++) {
		const struct elf_phdr *ph = &phdrs(image)[i];
		if (ph->type != PT_LOAD || ph->memsz == 0)
			continue;
		for (va = PAGE_ROUNDDOWN(ph->vaddr); va < ph->vaddr + ph->memsz; va += PAGE_SIZE)
			if (!page_writable(image, va))
				uprotect(p, va);
	}
	p->heap_start = p->brk = PAGE_ROUNDUP(end);
	*entry = h->entry;
	return 0;
}
