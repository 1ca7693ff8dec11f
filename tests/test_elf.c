//@ LAB 7 FILE
/* Check tests of the ELF image check (src/kernel/elfcheck.c), on the host:
 * a small valid image, then one change per rule elf_check enforces, each
 * refused with its reason. Under make check-san, ASan and UBSan also see
 * every read (images at odd addresses and program headers at odd offsets
 * included). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/elfcheck.h"

#define TEXT_VA		0x00401000u
#define DATA_VA		0x00402000u
#define IMAGE_MAX	512

struct image {
	uint8_t bytes[IMAGE_MAX + 4];
	size_t size;
	uint8_t *p;		/* the image: bytes + skew */
};

static void put(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *phdr(struct image *im, int i)
{
	uint32_t phoff = im->p[28] | im->p[29] << 8 | im->p[30] << 16 | (uint32_t)im->p[31] << 24;

	return im->p + phoff + 32 * i;
}

/* Header, a text segment (R X, 16 bytes), a data segment (RW, 8 of 64
 * bytes in the file) and a GNU_STACK header; program headers at phoff,
 * the image `skew` bytes past a 4-byte boundary. */
static void make(struct image *im, uint32_t phoff, int skew)
{
	memset(im, 0, sizeof(*im));
	im->p = im->bytes + skew;
	memcpy(im->p, "\177ELF\1\1\1", 7);
	put(im->p + 16, ET_EXEC, 2);
	put(im->p + 18, EM_386, 2);
	put(im->p + 20, 1, 4);			/* version */
	put(im->p + 24, TEXT_VA + 4, 4);	/* entry */
	put(im->p + 28, phoff, 4);
	put(im->p + 40, 52, 2);			/* ehsize */
	put(im->p + 42, 32, 2);
	put(im->p + 44, 3, 2);			/* phnum */
	uint32_t text = phoff + 3 * 32, data = text + 16;
	uint32_t ph[3][8] = {
		{ PT_LOAD, text, TEXT_VA, TEXT_VA, 16, 16, 5, 0x1000 },
		{ PT_LOAD, data, DATA_VA, DATA_VA, 8, 64, 6, 0x1000 },
		{ 0x6474e551, 0, 0, 0, 0, 0, 6, 16 },
	};
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 8; j++)
			put(phdr(im, i) + 4 * j, ph[i][j], 4);
	im->size = data + 8;
	ck_assert_uint_le(im->size, IMAGE_MAX);
}

#define ACCEPTED(im)	ck_assert_ptr_null(elf_check((im)->p, (im)->size))
#define REFUSED(im, why)						\
	do {								\
		const char *w_ = elf_check((im)->p, (im)->size);	\
		ck_assert_ptr_nonnull(w_);				\
		ck_assert_str_eq(w_, why);				\
	} while (0)

START_TEST(test_valid)
{
	struct image im;
	struct elf_phdr ph;

	for (int skew = 0; skew < 4; skew++) {
		make(&im, 52, skew);
		ACCEPTED(&im);
		make(&im, 53, skew);	/* program headers at an odd offset */
		ACCEPTED(&im);
		elf_phdr_read(im.p, 1, &ph);
		ck_assert_uint_eq(ph.vaddr, DATA_VA);
		ck_assert_uint_eq(ph.memsz, 64);
	}
}
END_TEST

START_TEST(test_not_elf)
{
	struct image im;

	make(&im, 52, 0);
	for (size_t n = 0; n < 52; n++)
		ck_assert_str_eq(elf_check(im.p, n), "not an ELF file");
	im.p[1] = 'e';
	REFUSED(&im, "not an ELF file");
	make(&im, 52, 0);
	im.p[4] = 2;		/* 64-bit */
	REFUSED(&im, "not 32-bit little-endian ELF version 1");
	make(&im, 52, 0);
	im.p[5] = 2;		/* big-endian */
	REFUSED(&im, "not 32-bit little-endian ELF version 1");
	make(&im, 52, 0);
	put(im.p + 20, 0, 4);
	REFUSED(&im, "not 32-bit little-endian ELF version 1");
	make(&im, 52, 0);
	put(im.p + 16, 3, 2);	/* ET_DYN */
	REFUSED(&im, "not an i386 executable");
	make(&im, 52, 0);
	put(im.p + 18, 62, 2);	/* x86-64 */
	REFUSED(&im, "not an i386 executable");
}
END_TEST

START_TEST(test_program_headers)
{
	struct image im;

	make(&im, 52, 0);
	put(im.p + 42, 56, 2);
	REFUSED(&im, "bad program header size or count");
	put(im.p + 42, 32, 2);
	put(im.p + 44, 0, 2);
	REFUSED(&im, "bad program header size or count");
	put(im.p + 44, PHNUM_MAX + 1, 2);
	REFUSED(&im, "bad program header size or count");
	put(im.p + 44, PHNUM_MAX, 2);	/* 16 headers: past the end */
	REFUSED(&im, "program headers outside the file");
	make(&im, 52, 0);
	put(im.p + 28, 0xffffffe0u, 4);	/* phoff + size wraps */
	REFUSED(&im, "program headers outside the file");
	make(&im, 52, 0);
	im.size = 52 + 3 * 32 - 1;
	REFUSED(&im, "program headers outside the file");
}
END_TEST

START_TEST(test_segments)
{
	struct image im;

	make(&im, 52, 0);
	put(phdr(&im, 1) + 16, 65, 4);			/* filesz > memsz */
	REFUSED(&im, "a segment's file size exceeds its memory size");
	make(&im, 52, 0);
	im.size--;					/* data's last byte cut */
	REFUSED(&im, "a segment lies outside the file");
	make(&im, 52, 0);
	put(phdr(&im, 1) + 4, 0xfffffffcu, 4);		/* offset + filesz wraps */
	REFUSED(&im, "a segment lies outside the file");
	make(&im, 52, 0);
	put(phdr(&im, 1) + 8, 0x003ff000u, 4);		/* below USER_BINARY_BASE */
	REFUSED(&im, "a segment lies outside 0x00400000..0x80000000");
	make(&im, 52, 0);
	put(phdr(&im, 1) + 8, 0x7fffffc1u, 4);		/* ends past UVIRT_START */
	REFUSED(&im, "a segment lies outside 0x00400000..0x80000000");
	make(&im, 52, 0);
	put(phdr(&im, 1) + 8, 0xffffffc0u, 4);		/* vaddr + memsz wraps */
	put(phdr(&im, 1) + 20, 0x80u, 4);
	REFUSED(&im, "a segment lies outside 0x00400000..0x80000000");
	make(&im, 52, 0);
	put(phdr(&im, 1) + 8, 0x7fffffc0u, 4);		/* ends at UVIRT_START: fine */
	ACCEPTED(&im);
	make(&im, 52, 0);
	put(phdr(&im, 2) + 8, 0x10u, 4);		/* not PT_LOAD: not checked */
	ACCEPTED(&im);
}
END_TEST

START_TEST(test_entry)
{
	struct image im;

	make(&im, 52, 0);
	put(im.p + 24, TEXT_VA + 16, 4);		/* just past the text */
	REFUSED(&im, "the entry point is in no executable segment");
	put(im.p + 24, DATA_VA, 4);			/* in data, not executable */
	REFUSED(&im, "the entry point is in no executable segment");
	make(&im, 52, 0);
	put(phdr(&im, 0), 4, 4);			/* text is PT_NOTE: no load */
	REFUSED(&im, "the entry point is in no executable segment");
	make(&im, 52, 0);
	put(phdr(&im, 0) + 24, 4, 4);			/* text readable only */
	REFUSED(&im, "the entry point is in no executable segment");
	put(im.p + 24, TEXT_VA + 15, 4);
	REFUSED(&im, "the entry point is in no executable segment");
	put(phdr(&im, 0) + 24, 5, 4);
	ACCEPTED(&im);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("elf_check");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_not_elf);
	tcase_add_test(tc, test_program_headers);
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_entry);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
