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

/*
 * ASCII is checked eight bytes at a time: a NUL, a bad byte or a
 * multi-byte character at every position of a long run must still be
 * seen, and the tail shorter than eight bytes too.
 */
START_TEST(utf8_word_at_a_time)
{
	char s[64];

	for (size_t len = 1; len <= 40; len++) {
		for (size_t at = 0; at < len; at++) {
			memset(s, 'a', len);
			ck_assert_int_eq(utf8_valid(s, len), 1);
			s[at] = '\0';
			ck_assert_msg(utf8_valid(s, len) == 0,
			              "NUL at %zu of %zu passed", at, len);
			s[at] = (char)0xff;
			ck_assert_msg(utf8_valid(s, len) == 0,
			              "0xff at %zu of %zu passed", at, len);
			s[at] = (char)0x80;
			ck_assert_int_eq(utf8_valid(s, len), 0);
			if (at + 1 < len) {
				memcpy(s + at, "\xc3\xa9", 2);
				ck_assert_int_eq(utf8_valid(s, len), 1);
				/* A truncated sequence at the very end. */
				ck_assert_int_eq(utf8_valid(s, at + 1), 0);
			}
		}
	}
	/* 0x01 bytes next to 0x00 must not hide it from the word test. */
	memcpy(s, "\x01\x01\x01\x00\x01\x01\x01\x01", 8);
	ck_assert_int_eq(utf8_valid(s, 8), 0);
	memcpy(s, "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 8);
	ck_assert_int_eq(utf8_valid(s, 8), 1);
}
END_TEST

/*
 * The worker parses Content-Length with parse_int64() (fcgi/main.c): the
 * longest header value nginx passes is 8 KiB (large_client_header_buffers
 * 4 8k).  Eight thousand zeros before a digit or eight thousand nines
 * cost a pass over the value, nothing more.
 */
START_TEST(content_length_worst_cases)
{
	static char v[8192];
	int64_t n = -1;
	int rc = 0;

	memset(v, '0', sizeof(v) - 2);
	v[sizeof(v) - 2] = '7';
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, "util: 8 KiB of zeros then 7",
	                 rc = parse_int64(v, 0, INT64_MAX, &n));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(n, 7);
	memset(v, '9', sizeof(v) - 1);
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, "util: 8 KiB of nines",
	                 rc = parse_int64(v, 0, INT64_MAX, &n));
	ck_assert_int_eq(rc, -1);
	memset(v, ' ', sizeof(v) - 1);
	ck_assert_int_eq(parse_int64(v, 0, INT64_MAX, &n), -1);
	ck_assert_int_eq(parse_int64("-1", 0, INT64_MAX, &n), -1);
	ck_assert_int_eq(parse_int64("1e6", 0, INT64_MAX, &n), -1);
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
          utf8_word_at_a_time, content_length_worst_cases, hex_round_trip,
          random_bytes_differ)
