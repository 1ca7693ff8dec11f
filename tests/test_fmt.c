/* Check tests of printk's formatting core (src/lib/fmt.c), on the host. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"

static char buf[128];

/* Called through a pointer without the format attribute, so that the tests
 * may pass what printf-checking would reject (NULL %s, unknown conversions). */
static int (*volatile fmt)(char *, size_t, const char *, ...) = fmt_snprintf;

#define FMT(expect, ...)						\
	do {								\
		int n_ = fmt(buf, sizeof(buf), __VA_ARGS__);	\
		ck_assert_str_eq(buf, expect);				\
		ck_assert_int_eq(n_, (int)strlen(expect));		\
	} while (0)

START_TEST(test_decimal)
{
	FMT("0", "%d", 0);
	FMT("-42", "%d", -42);
	FMT("7", "%i", 7);
	FMT("-2147483648", "%d", INT_MIN);
	FMT("2147483647", "%i", INT_MAX);
	FMT("4000000000", "%u", 4000000000u);
	FMT("-1", "%ld", -1L);
	FMT("123456", "%lu", 123456ul);
}
END_TEST

START_TEST(test_hex)
{
	FMT("beef", "%x", 0xbeef);
	FMT("BEEF", "%X", 0xbeef);
	FMT("0", "%x", 0);
	FMT("ffffffff", "%x", 0xffffffffu);
	FMT("0000002a", "%08x", 0x2a);
	FMT("deadbeef", "%08x", 0xdeadbeefu);
	FMT("ffffffff", "%lx", 0xfffffffful);
}
END_TEST

START_TEST(test_pointer)
{
	char expect[32];

	snprintf(expect, sizeof(expect), "0x%0*lx", (int)(2 * sizeof(void *)), 0xc0100000ul);
	FMT(expect, "%p", (void *)0xc0100000ul);
	snprintf(expect, sizeof(expect), "0x%0*x", (int)(2 * sizeof(void *)), 0);
	FMT(expect, "%p", (void *)0);
	snprintf(expect, sizeof(expect), "0x%0*x", (int)(2 * sizeof(void *)), 0x1000);
	FMT(expect, "%p", (void *)0x1000);
}
END_TEST

START_TEST(test_width_and_padding)
{
	FMT("   42", "%5d", 42);
	FMT("42   ", "%-5d", 42);
	FMT("00042", "%05d", 42);
	FMT("-0042", "%05d", -42);
	FMT("  -42", "%5d", -42);
	FMT("12345", "%3d", 12345);
	FMT("a  |  b", "%-3s|%3s", "a", "b");
	FMT("  x", "%3c", 'x');
	FMT("help       list", "%-10s %s", "help", "list");
}
END_TEST

START_TEST(test_strings_chars_percent)
{
	FMT("strata", "%s", "strata");
	FMT("(null)", "%s", (char *)NULL);
	FMT("k", "%c", 'k');
	FMT("100%", "%d%%", 100);
	FMT("", "%s", "");
	FMT("a=1 b=two c=3", "a=%d b=%s c=%c", 1, "two", '3');
}
END_TEST

START_TEST(test_unknown_and_truncated)
{
	FMT("%q", "%q");
	FMT("x%", "x%");
	FMT("%5q", "%5q");
}
END_TEST

START_TEST(test_snprintf_truncation)
{
	char small[8];

	ck_assert_int_eq(fmt(small, sizeof(small), "%s", "truncated!"), 10);
	ck_assert_str_eq(small, "truncat");
	ck_assert_int_eq(fmt(small, 1, "%d", 12345), 5);
	ck_assert_str_eq(small, "");
	memset(small, 'z', sizeof(small));
	ck_assert_int_eq(fmt(small, 0, "%d", 12345), 5);
	ck_assert_int_eq(small[0], 'z');	/* size 0 writes nothing */
}
END_TEST

/* Against the C library's printf for a spread of values and formats. */
START_TEST(test_matches_libc)
{
	static const char *formats[] = { "%d", "%5d", "%-7d", "%08d", "%u", "%x", "%X",
					 "%08x", "%-9x|", "%3u" };
	static const int values[] = { 0, 1, -1, 9, 10, 255, -255, 65535, 123456789,
				      INT_MIN, INT_MAX };
	char expect[64];

	for (size_t f = 0; f < sizeof(formats) / sizeof(*formats); f++)
		for (size_t v = 0; v < sizeof(values) / sizeof(*values); v++) {
			int a = snprintf(expect, sizeof(expect), formats[f], values[v]);
			int b = fmt(buf, sizeof(buf), formats[f], values[v]);
			ck_assert_msg(strcmp(expect, buf) == 0 && a == b,
				      "format \"%s\" value %d: libc \"%s\", fmt \"%s\"",
				      formats[f], values[v], expect, buf);
		}
}
END_TEST

static Suite *fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_decimal);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_pointer);
	tcase_add_test(tc, test_width_and_padding);
	tcase_add_test(tc, test_strings_chars_percent);
	tcase_add_test(tc, test_unknown_and_truncated);
	tcase_add_test(tc, test_snprintf_truncation);
	tcase_add_test(tc, test_matches_libc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
