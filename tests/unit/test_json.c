#include <string.h>

#include "arena.h"
#include "buf.h"
#include "json.h"
#include "tests/unit/unit.h"

static struct arena a;

static enum json_err
parse(const char *text, cJSON **out)
{
	return json_parse(&a, text, strlen(text), out);
}

START_TEST(numbers_keep_their_literal)
{
	cJSON *root;
	int64_t v;

	arena_init(&a, 0);
	ck_assert_int_eq(parse("{\"price\": 150000.10, \"n\": [1, -2, 3e2], "
	                       "\"s\": \"12 and 3\", \"big\": "
	                       "9007199254740993}",
	                       &root),
	                 JSON_OK);
	ck_assert_str_eq(json_number_text(cJSON_GetObjectItem(root, "price")),
	                 "150000.10");
	ck_assert_str_eq(json_number_text(cJSON_GetArrayItem(
	                     cJSON_GetObjectItem(root, "n"), 1)),
	                 "-2");
	ck_assert_str_eq(json_number_text(cJSON_GetArrayItem(
	                     cJSON_GetObjectItem(root, "n"), 2)),
	                 "3e2");
	/* 2^53 + 1 survives exactly, which a double could not hold. */
	ck_assert_int_eq(
	    json_get_int64(cJSON_GetObjectItem(root, "big"), 0, INT64_MAX, &v),
	    0);
	ck_assert_int_eq(v, 9007199254740993LL);
	ck_assert_int_eq(json_get_int64(cJSON_GetObjectItem(root, "price"), 0,
	                                INT64_MAX, &v),
	                 -1);
	arena_release(&a);
}
END_TEST

START_TEST(refuses_bad_input)
{
	cJSON *root;

	arena_init(&a, 0);
	ck_assert_int_eq(parse("{\"a\": ", &root), JSON_ERR_SYNTAX);
	ck_assert_int_eq(parse("", &root), JSON_ERR_SYNTAX);
	ck_assert_int_eq(parse("{\"a\": 1} x", &root), JSON_ERR_SYNTAX);
	ck_assert_int_eq(parse("{\"a\": \"\\u0000\"}", &root), JSON_ERR_UTF8);
	ck_assert_int_eq(parse("{\"a\": \"\xc3\x28\"}", &root), JSON_ERR_UTF8);
	ck_assert_int_eq(json_parse(&a, "{\"a\":\"x\0y\"}", 11, &root),
	                 JSON_ERR_UTF8);
	ck_assert_int_eq(parse("{\"a\": 1, \"a\": 2}", &root),
	                 JSON_ERR_DUPLICATE);
	ck_assert_int_eq(parse("{\"o\": {\"b\": 1, \"b\": 1}}", &root),
	                 JSON_ERR_DUPLICATE);
	ck_assert_int_eq(parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]"
	                       "]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	                       &root),
	                 JSON_ERR_DEPTH);
	/* An escaped backslash before u0000 is text, not a NUL. */
	ck_assert_int_eq(parse("{\"a\": \"\\\\u0000\"}", &root), JSON_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "a")->valuestring,
	                 "\\u0000");
	arena_release(&a);
}
END_TEST

START_TEST(strings_with_digits_are_not_numbers)
{
	cJSON *root;

	arena_init(&a, 0);
	ck_assert_int_eq(parse("{\"k1\": \"-12.5\", \"v\": 7}", &root),
	                 JSON_OK);
	ck_assert_str_eq(json_number_text(cJSON_GetObjectItem(root, "v")), "7");
	arena_release(&a);
}
END_TEST

START_TEST(output_helpers)
{
	cJSON *o = cJSON_CreateObject();
	struct buf b = BUF_INIT(0);

	json_add_decimal(o, "price", "150000.00");
	json_add_int(o, "id", 9007199254740993LL);
	json_add_str_or_null(o, "x", NULL);
	json_add_str_or_null(o, "y", "<b>");
	ck_assert_int_eq(json_print(&b, o), 0);
	ck_assert_str_eq(b.s, "{\"price\":150000.00,\"id\":9007199254740993,"
	                      "\"x\":null,\"y\":\"<b>\"}");
	cJSON_Delete(o);
	buf_release(&b);
}
END_TEST

START_TEST(arena_cap_fails_cleanly)
{
	cJSON *root;
	struct buf b = BUF_INIT(0);

	arena_init(&a, 65536);
	for (int i = 0; i < 5000; i++)
		buf_adds(&b, i ? ",1" : "[1");
	buf_adds(&b, "]");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_NOMEM);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

UNIT_MAIN("json", numbers_keep_their_literal, refuses_bad_input,
          strings_with_digits_are_not_numbers, output_helpers,
          arena_cap_fails_cleanly)
