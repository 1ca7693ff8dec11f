/* Check tests of the monitor's argument reading (src/lib/args.c), on the host. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/args.h"

#define NUMBER(word, expect)						\
	do {								\
		uint32_t v_ = 12345;					\
		ck_assert_int_eq(args_number(word, &v_), ARGS_OK);	\
		ck_assert_uint_eq(v_, expect);				\
	} while (0)

#define REFUSED(word, why)						\
	do {								\
		uint32_t v_ = 12345;					\
		ck_assert_int_eq(args_number(word, &v_), why);		\
		ck_assert_uint_eq(v_, 12345);	/* untouched */		\
	} while (0)

START_TEST(test_numbers)
{
	NUMBER("0", 0);
	NUMBER("42", 42);
	NUMBER("0x0", 0);
	NUMBER("0xc0100000", 0xc0100000u);
	NUMBER("0XDEADbeef", 0xdeadbeefu);
	NUMBER("4294967295", 0xffffffffu);
	NUMBER("0xffffffff", 0xffffffffu);
	NUMBER("0x00000000000000000001", 1);
}
END_TEST

START_TEST(test_not_numbers)
{
	REFUSED("", ARGS_NAN);
	REFUSED("abc", ARGS_NAN);
	REFUSED("0x", ARGS_NAN);
	REFUSED("12abc", ARGS_NAN);
	REFUSED("0xfg", ARGS_NAN);
	REFUSED("ff", ARGS_NAN);	/* hexadecimal needs its 0x */
	REFUSED("-", ARGS_NAN);
	REFUSED("--1", ARGS_NAN);
	REFUSED("+1", ARGS_NAN);
	REFUSED("-abc", ARGS_NAN);
	REFUSED("99999999999999999999x", ARGS_NAN);
}
END_TEST

START_TEST(test_out_of_range)
{
	REFUSED("-1", ARGS_RANGE);
	REFUSED("-0x10", ARGS_RANGE);
	REFUSED("4294967296", ARGS_RANGE);
	REFUSED("0x100000000", ARGS_RANGE);
	REFUSED("0xfffffffff", ARGS_RANGE);
	REFUSED("99999999999999999999999999", ARGS_RANGE);
}
END_TEST

START_TEST(test_split)
{
	char line[] = "  maps\t0 \t 0xffffffff  ";
	char *argv[4];

	ck_assert_int_eq(args_split(line, argv, 4), 3);
	ck_assert_str_eq(argv[0], "maps");
	ck_assert_str_eq(argv[1], "0");
	ck_assert_str_eq(argv[2], "0xffffffff");
}
END_TEST

START_TEST(test_split_blank_and_too_many)
{
	char blank[] = " \t ", full[] = "a b c", over[] = "a b c d";
	char *argv[3];

	ck_assert_int_eq(args_split(blank, argv, 3), 0);
	ck_assert_int_eq(args_split(full, argv, 3), 3);
	ck_assert_int_eq(args_split(over, argv, 3), -1);
	ck_assert_str_eq(argv[2], "c");
}
END_TEST

static Suite *args_suite(void)
{
	Suite *s = suite_create("args");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_not_numbers);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_split_blank_and_too_many);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(args_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
