//@ LAB 7 FILE
/*
 * fuzz_elf: the ELF image check (src/kernel/elfcheck.c) on any bytes.
 *
 * The first input byte puts the image 0..3 bytes past a 4-byte boundary
 * (the loader must not assume alignment); the rest is the image, in a heap
 * block of its exact size with the bytes before it poisoned, so ASan sees
 * any read outside it. elf_check must agree with a reference check written
 * independently here (fields read byte by byte, 64-bit arithmetic, so no
 * wrap): accept exactly the images it accepts, refuse the others with the
 * reference's reason. For an accepted image, every program header
 * elf_phdr_read gives must equal the reference's, and the bytes elf_load
 * copies (each PT_LOAD segment's offset..offset+filesz) are read, so ASan
 * checks that what elf_check accepts elf_load can read. The image is never
 * written, and a second check gives the same answer.
 */
#include <sanitizer/asan_interface.h>
#include <string.h>

#include "fuzz.h"
#include "kernel/elfcheck.h"

#define USER_LO		0x00400000ull	/* USER_BINARY_BASE */
#define USER_HI		0x80000000ull	/* UVIRT_START */

static uint64_t rd(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The reference: NULL or the reason elf_check must give. */
static const char *ref_check(const uint8_t *f, uint64_t size)
{
	uint64_t phoff, phnum, entry;
	int entry_ok = 0;

	if (size < 52 || f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F')
		return "not an ELF file";
	if (f[4] != 1 || f[5] != 1 || f[6] != 1 || rd(f + 20, 4) != 1)
		return "not 32-bit little-endian ELF version 1";
	if (rd(f + 16, 2) != 2 || rd(f + 18, 2) != 3)
		return "not an i386 executable";
	phnum = rd(f + 44, 2);
	if (rd(f + 42, 2) != 32 || phnum < 1 || phnum > 16)
		return "bad program header size or count";
	phoff = rd(f + 28, 4);
	if (phoff + 32 * phnum > size)
		return "program headers outside the file";
	entry = rd(f + 24, 4);
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + 32 * i;
		uint64_t off = rd(ph + 4, 4), va = rd(ph + 8, 4);
		uint64_t filesz = rd(ph + 16, 4), memsz = rd(ph + 20, 4);

		if (rd(ph, 4) != 1)
			continue;
		if (filesz > memsz)
			return "a segment's file size exceeds its memory size";
		if (off + filesz > size)
			return "a segment lies outside the file";
		if (va < USER_LO || va + memsz > USER_HI)
			return "a segment lies outside 0x00400000..0x80000000";
		if ((rd(ph + 24, 4) & 1) && entry >= va && entry < va + memsz)
			entry_ok = 1;
	}
	return entry_ok ? NULL : "the entry point is in no executable segment";
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init("fuzz_elf");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t skew = size ? data[0] & 3 : 0, n = size ? size - 1 : 0;
	uint8_t *block = malloc(skew + n + 1), *image = block + skew;
	const char *why, *want;

	memcpy(image, data + (size ? 1 : 0), n);
	ASAN_POISON_MEMORY_REGION(block, skew);
	want = ref_check(image, n);
	why = elf_check(image, n);
	fuzz_ops++;
	FUZZ_ASSERT(same(why, want), "elf_check: %s; reference: %s", why ? why : "accepted",
		    want ? want : "accepted");
	FUZZ_ASSERT(same(elf_check(image, n), why), "a second check differs");
	FUZZ_ASSERT(memcmp(image, data + (size ? 1 : 0), n) == 0, "the image was written");
	if (!why) {
		struct elf_header h;
		volatile uint8_t sum = 0;

		elf_header_read(image, &h);
		FUZZ_ASSERT(h.entry == rd(image + 24, 4) && h.phoff == rd(image + 28, 4) &&
			    h.phnum == rd(image + 44, 2), "elf_header_read's fields differ");
		for (int i = 0; i < h.phnum; i++) {
			const uint8_t *raw = image + h.phoff + 32 * (size_t)i;
			struct elf_phdr ph;

			elf_phdr_read(image, i, &ph);
			fuzz_checks++;
			FUZZ_ASSERT(ph.type == rd(raw, 4) && ph.offset == rd(raw + 4, 4) &&
				    ph.vaddr == rd(raw + 8, 4) && ph.filesz == rd(raw + 16, 4) &&
				    ph.memsz == rd(raw + 20, 4) && ph.flags == rd(raw + 24, 4),
				    "program header %d differs from the file's", i);
			if (ph.type != PT_LOAD)
				continue;
			/* what elf_load copies */
			for (uint32_t b = 0; b < ph.filesz; b++)
				sum += image[ph.offset + b];
		}
		(void)sum;
	}
	ASAN_UNPOISON_MEMORY_REGION(block, skew);
	free(block);
	return 0;
}
