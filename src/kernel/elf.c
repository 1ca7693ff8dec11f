//@ LAB 7 FILE
/* The ELF loader (elf.h): maps and copies an image elf_check (elfcheck.c)
 * accepted. */
#include <stddef.h>
#include <stdint.h>

#include "kernel/elf.h"
#include "kernel/elfcheck.h"
#include "kernel/layout.h"
#include "kernel/syscall_abi.h"
#include "kernel/uvm.h"
#include "lib/string.h"

/* Whether any writable segment covers the page at va. */
static int page_writable(const void *image, uintptr_t va)
{
	struct elf_header h;
	struct elf_phdr ph;

	elf_header_read(image, &h);
	for (int i = 0; i < h.phnum; i++) {
		elf_phdr_read(image, i, &ph);
		if (ph.type == PT_LOAD && (ph.flags & PF_W) && ph.memsz &&
		    va + PAGE_SIZE > ph.vaddr && va < ph.vaddr + ph.memsz)
			return 1;
	}
	return 0;
}

int elf_load(struct process *p, const void *image, size_t size, uintptr_t *entry)
{
	struct elf_header h;
	struct elf_phdr ph;
	uintptr_t end = USER_BINARY_BASE, va;

	(void)size;
	elf_header_read(image, &h);
	/* Map every page writable and copy, then take write away from text. */
	for (int i = 0; i < h.phnum; i++) {
		elf_phdr_read(image, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		for (va = PAGE_ROUNDDOWN(ph.vaddr); va < ph.vaddr + ph.memsz; va += PAGE_SIZE)
			if (!ucheck_mapped(p, va) && umap_zero(p, va, 1) < 0)
				return -ENOMEM;
		memcpy((void *)ph.vaddr, (const uint8_t *)image + ph.offset, ph.filesz);
		if (ph.vaddr + ph.memsz > end)
			end = ph.vaddr + ph.memsz;
	}
	for (int i = 0; i < h.phnum; i++) {
		elf_phdr_read(image, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		for (va = PAGE_ROUNDDOWN(ph.vaddr); va < ph.vaddr + ph.memsz; va += PAGE_SIZE)
			if (!page_writable(image, va))
				uprotect(p, va);
	}
	p->heap_start = p->brk = PAGE_ROUNDUP(end);
	*entry = h.entry;
	return 0;
}
