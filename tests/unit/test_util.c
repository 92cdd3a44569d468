#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "tests/unit/unit.h"

START_TEST(parse_int64_accepts_and_refuses)
{
	int64_t v;

	ck_assert_int_eq(parse_int64("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(parse_int64("-5", -10, 10, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(
	    parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(
	    parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MIN);
	ck_assert_int_eq(
	    parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(parse_int64("", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("-", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64(" 1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("1 ", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("+1", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("1x", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("11", 0, 10, &v), -1);
	ck_assert_int_eq(parse_int64("0x1", 0, 10, &v), -1);
}
END_TEST

START_TEST(utf8_validation)
{
	ck_assert_int_eq(utf8_valid("plain", 5), 1);
	ck_assert_int_eq(utf8_valid("caf\xc3\xa9", 5), 1);
	ck_assert_int_eq(utf8_valid("\xe2\x82\xac", 3), 1);
	ck_assert_int_eq(utf8_valid("\xf0\x9f\x98\x80", 4), 1);
	ck_assert_int_eq(utf8_valid("\xc3", 1), 0);         /* truncated */
	ck_assert_int_eq(utf8_valid("\xc0\xaf", 2), 0);     /* overlong */
	ck_assert_int_eq(utf8_valid("\xed\xa0\x80", 3), 0); /* surrogate */
	ck_assert_int_eq(utf8_valid("\xf4\x90\x80\x80", 4), 0);
	ck_assert_int_eq(utf8_valid("\xff", 1), 0);
	ck_assert_int_eq(utf8_valid("a\0b", 3), 0); /* NUL */
	ck_assert_uint_eq(utf8_len("caf\xc3\xa9", 5), 4);
}
END_TEST

START_TEST(hex_round_trip)
{
	unsigned char in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
	char hex[9];

	hex_encode(in, 4, hex);
	ck_assert_str_eq(hex, "00ab7fff");
	ck_assert_int_eq(hex_decode(hex, 4, out), 0);
	ck_assert_int_eq(memcmp(in, out, 4), 0);
	ck_assert_int_eq(hex_decode("zz", 1, out), -1);
}
END_TEST

START_TEST(random_bytes_differ)
{
	unsigned char a[16], b[16];

	ck_assert_int_eq(random_bytes(a, sizeof(a)), 0);
	ck_assert_int_eq(random_bytes(b, sizeof(b)), 0);
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

UNIT_MAIN("util", parse_int64_accepts_and_refuses, utf8_validation,
          hex_round_trip, random_bytes_differ)
