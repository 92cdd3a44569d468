#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tests/unit/unit.h"

START_TEST(empty_is_never_null)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_ptr_nonnull(b.s);
	ck_assert_str_eq(b.s, "");
	buf_release(&b);
	ck_assert_str_eq(b.s, "");
}
END_TEST

START_TEST(append_and_format)
{
	struct buf b = BUF_INIT(0);
	char *s;

	buf_adds(&b, "abc");
	buf_addch(&b, '-');
	buf_addf(&b, "%d/%s", 7, "x");
	ck_assert_str_eq(b.s, "abc-7/x");
	ck_assert_uint_eq(b.len, 7);
	for (int i = 0; i < 1000; i++)
		buf_adds(&b, "0123456789");
	ck_assert_uint_eq(b.len, 10007);
	buf_truncate(&b, 3);
	ck_assert_str_eq(b.s, "abc");
	s = buf_detach(&b);
	ck_assert_str_eq(s, "abc");
	ck_assert_str_eq(b.s, "");
	free(s);
	buf_release(&b);
}
END_TEST

START_TEST(cap_sets_over_and_drops)
{
	struct buf b;

	buf_init(&b, 8);
	buf_adds(&b, "12345678");
	ck_assert_int_eq(b.over, 0);
	buf_adds(&b, "9");
	ck_assert_int_eq(b.over, 1);
	ck_assert_str_eq(b.s, "12345678");
	buf_addf(&b, "%s", "more");
	ck_assert_str_eq(b.s, "12345678");
	buf_reset(&b);
	ck_assert_int_eq(b.over, 0);
	ck_assert_str_eq(b.s, "");
	buf_release(&b);
}
END_TEST

START_TEST(binary_data)
{
	struct buf b = BUF_INIT(0);

	buf_add(&b, "a\0b", 3);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.s, "a\0b", 4), 0);
	buf_release(&b);
}
END_TEST

UNIT_MAIN("buf", empty_is_never_null, append_and_format,
          cap_sets_over_and_drops, binary_data)
