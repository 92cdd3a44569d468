#include <stdint.h>
#include <stdlib.h>
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

	/* 4995 numbers: their table outgrows a 64 KiB arena. */
	arena_init(&a, 65536);
	buf_addch(&b, '[');
	for (int k = 0; k < 5; k++) {
		buf_adds(&b, k ? ",[" : "[");
		for (int i = 0; i < 999; i++)
			buf_adds(&b, i ? ",1" : "1");
		buf_addch(&b, ']');
	}
	buf_adds(&b, "]");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_NOMEM);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

/*
 * Worst-case bodies.  The request body cap is 1 MiB (max_body_bytes and
 * nginx's client_max_body_size); each test builds the most expensive body
 * of one shape that fits under it and asserts what json_parse() answers
 * and that it costs at most UNIT_CPU_BUDGET_MS of CPU.  The arena has the
 * production cap (arena_cap_bytes, 16 MiB).
 */
#define BODY_CAP  (1024 * 1024)
#define ARENA_CAP (16 * 1024 * 1024)

/*
 * The most expensive accepted bodies (a megabyte of long keys, of
 * escapes, of numbers) cost 3-6 ms of CPU in a release build and 10-25 ms
 * under ASan/UBSan; the quadratic duplicate check cost seconds on them.
 * Twice the usual budget keeps a wide margin on both sides.
 */
#define BODY_BUDGET_MS (2 * UNIT_CPU_BUDGET_MS)

/* The shortest distinct keys: i in base 36. */
static void
add_key(struct buf *b, unsigned i)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = digits[i % 36];
		i /= 36;
	} while (i);
	buf_addch(b, '"');
	while (n)
		buf_addch(b, tmp[--n]);
	buf_addch(b, '"');
}

/* A flat object of as many distinct "key":0 members as fit in cap. */
static void
flat_object(struct buf *b, size_t cap, unsigned max_members)
{
	unsigned i;

	buf_addch(b, '{');
	for (i = 0; i < max_members; i++) {
		size_t before = b->len;

		if (i)
			buf_addch(b, ',');
		add_key(b, i);
		buf_adds(b, ":0");
		if (b->len + 1 > cap) {
			buf_truncate(b, before);
			break;
		}
	}
	buf_addch(b, '}');
}

static enum json_err
timed_parse(const char *what, const struct buf *b, cJSON **root)
{
	enum json_err err = JSON_OK;

	ck_assert_uint_le(b->len, BODY_CAP);
	UNIT_CPU_AT_MOST(BODY_BUDGET_MS, what,
	                 err = json_parse(&a, b->s, b->len, root));
	return err;
}

START_TEST(issue_8_flat_body_of_a_megabyte_is_refused_at_once)
{
	struct buf b = BUF_INIT(0);
	cJSON *root;

	/* About 120,000 distinct keys: 30 s of CPU before the fix. */
	arena_init(&a, ARENA_CAP);
	flat_object(&b, BODY_CAP, UINT32_MAX);
	ck_assert_uint_gt(b.len, BODY_CAP - 16);
	ck_assert_int_eq(timed_parse("json: 1 MiB flat object", &b, &root),
	                 JSON_ERR_MEMBERS);
	ck_assert_str_eq(json_err_str(JSON_ERR_MEMBERS),
	                 "body has an object with more than 1000 members");
	arena_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(object_at_the_member_bound)
{
	struct buf b = BUF_INIT(0);
	cJSON *root;

	arena_init(&a, ARENA_CAP);
	flat_object(&b, BODY_CAP, JSON_MAX_MEMBERS);
	ck_assert_int_eq(timed_parse("json: 1000 members", &b, &root), JSON_OK);
	ck_assert_int_eq(cJSON_GetArraySize(root), JSON_MAX_MEMBERS);
	arena_reset(&a);
	buf_reset(&b);
	flat_object(&b, BODY_CAP, JSON_MAX_MEMBERS + 1);
	ck_assert_int_eq(timed_parse("json: 1001 members", &b, &root),
	                 JSON_ERR_MEMBERS);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(duplicates_in_big_objects_are_found)
{
	struct buf b = BUF_INIT(0);
	cJSON *root;

	arena_init(&a, ARENA_CAP);
	/* The last member repeats the first one. */
	flat_object(&b, BODY_CAP, JSON_MAX_MEMBERS - 1);
	buf_truncate(&b, b.len - 1);
	buf_adds(&b, ",\"0\":1}");
	ck_assert_int_eq(timed_parse("json: 1000 members, dup", &b, &root),
	                 JSON_ERR_DUPLICATE);
	/* The same key written two ways is the same key. */
	buf_reset(&b);
	flat_object(&b, BODY_CAP, 500);
	buf_truncate(&b, b.len - 1);
	buf_adds(&b, ",\"\\u0061\":1,\"zz\":2,\"a\":3}");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_DUPLICATE);
	/* Keys that differ in their last byte only are not duplicates. */
	buf_reset(&b);
	buf_addch(&b, '{');
	for (int i = 0; i < JSON_MAX_MEMBERS; i++)
		buf_addf(&b, "%s\"%0200d\":0", i ? "," : "", i);
	buf_addch(&b, '}');
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_OK);
	ck_assert_int_eq(cJSON_GetArraySize(root), JSON_MAX_MEMBERS);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(worst_bodies_that_are_accepted)
{
	struct buf b = BUF_INIT(0), key = BUF_INIT(0);
	const int objs = 9, members = 999;
	size_t klen;
	cJSON *root;

	arena_init(&a, ARENA_CAP);
	/*
	 * The duplicate check's worst case: objects at the member bound,
	 * as many as the value bound allows, whose keys share a prefix as
	 * long as the body cap allows, so that every comparison of the
	 * sort walks it.
	 */
	klen = BODY_CAP / ((size_t)objs * members) - 8;
	for (size_t i = 0; i < klen - 4; i++)
		buf_addch(&key, 'p');
	buf_adds(&b, "{\"a\":[");
	for (int o = 0; o < objs; o++) {
		buf_adds(&b, o ? ",{" : "{");
		for (int i = 0; i < members; i++)
			buf_addf(&b, "%s\"%s%04d\":%d", i ? "," : "", key.s,
			         members - i, i);
		buf_addch(&b, '}');
	}
	buf_adds(&b, "]}");
	ck_assert_uint_gt(b.len, BODY_CAP - BODY_CAP / 20);
	ck_assert_int_eq(
	    timed_parse("json: 9 x 999 members, long keys", &b, &root),
	    JSON_OK);
	ck_assert_str_eq(
	    json_number_text(cJSON_GetArrayItem(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(root, "a"), 8), 998)),
	    "998");
	arena_reset(&a);

	/* One string of escapes as long as the cap allows. */
	buf_reset(&b);
	buf_adds(&b, "{\"s\":\"");
	while (b.len + 6 + 2 <= BODY_CAP)
		buf_adds(&b, "\\u00e9");
	buf_adds(&b, "\"}");
	ck_assert_int_eq(timed_parse("json: 1 MiB of \\u escapes", &b, &root),
	                 JSON_OK);
	ck_assert_uint_eq(strlen(cJSON_GetObjectItem(root, "s")->valuestring),
	                  2 * ((b.len - 8) / 6));
	arena_reset(&a);

	/*
	 * Number literals as long as the cap allows, up to the value bound:
	 * the root, 999 arrays and 8991 numbers.
	 */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (int i = 0; i < JSON_MAX_ELEMENTS - 1; i++) {
		buf_adds(&b, i ? ",[" : "[");
		for (int k = 0; k < 9; k++)
			buf_addf(&b, "%s1.%028de1", k ? "," : "", i);
		buf_addch(&b, ']');
	}
	buf_addch(&b, ']');
	ck_assert_int_eq(
	    timed_parse("json: 8991 numbers of 32 characters", &b, &root),
	    JSON_OK);
	ck_assert_uint_eq(strlen(json_number_text(cJSON_GetArrayItem(
	                      cJSON_GetArrayItem(root, 998), 8))),
	                  JSON_MAX_NUMBER);
	arena_reset(&a);
	/* One character more is refused, however the body ends. */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (int i = 0; i < JSON_MAX_NUMBER; i++)
		buf_addch(&b, '1');
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_SYNTAX);
	buf_adds(&b, "1]");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_NUMBER);
	ck_assert_str_eq(json_err_str(JSON_ERR_NUMBER),
	                 "body has a number longer than 32 characters");
	buf_reset(&b);
	buf_addch(&b, '[');
	while (b.len < BODY_CAP)
		buf_addch(&b, '9');
	ck_assert_int_eq(timed_parse("json: a 1 MiB number", &b, &root),
	                 JSON_ERR_NUMBER);
	arena_reset(&a);

	/* The deepest nesting, each level at the element bound. */
	buf_reset(&b);
	for (int d = 0; d < JSON_MAX_DEPTH; d++)
		buf_addch(&b, '[');
	for (int i = 0; i < JSON_MAX_ELEMENTS; i++)
		buf_adds(&b, i ? ",\"x\"" : "\"x\"");
	for (int d = 0; d < JSON_MAX_DEPTH; d++)
		buf_addch(&b, ']');
	ck_assert_int_eq(timed_parse("json: depth 32", &b, &root), JSON_OK);
	arena_release(&a);
	buf_release(&b);
	buf_release(&key);
}
END_TEST

START_TEST(bounds_on_arrays_and_values)
{
	struct buf b = BUF_INIT(0);
	cJSON *root;

	arena_init(&a, ARENA_CAP);
	/* A megabyte of zeros was a 500: the number table hit the cap. */
	buf_adds(&b, "{\"a\":[0");
	while (b.len + 2 + 2 <= BODY_CAP)
		buf_adds(&b, ",0");
	buf_adds(&b, "]}");
	ck_assert_int_eq(timed_parse("json: 1 MiB array of zeros", &b, &root),
	                 JSON_ERR_ELEMENTS);
	ck_assert_str_eq(json_err_str(JSON_ERR_ELEMENTS),
	                 "body has an array with more than 1000 elements");

	/* 1000 elements pass, 1001 do not. */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (int i = 0; i < JSON_MAX_ELEMENTS; i++)
		buf_adds(&b, i ? ",null" : "null");
	buf_addch(&b, ']');
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_OK);
	buf_truncate(&b, b.len - 1);
	buf_adds(&b, ",null]");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_ELEMENTS);

	/*
	 * Exactly JSON_MAX_VALUES values pass: the root, ten arrays and
	 * 9989 elements in them.  One more does not.
	 */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (int k = 0, left = JSON_MAX_VALUES - 11; k < 10; k++) {
		int n = left > 999 ? 999 : left;

		buf_adds(&b, k ? ",[" : "[");
		for (int i = 0; i < n; i++)
			buf_adds(&b, i ? ",1" : "1");
		buf_addch(&b, ']');
		left -= n;
	}
	buf_addch(&b, ']');
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_OK);
	buf_truncate(&b, b.len - 2);
	buf_adds(&b, ",1]]");
	ck_assert_int_eq(json_parse(&a, b.s, b.len, &root), JSON_ERR_VALUES);
	ck_assert_str_eq(json_err_str(JSON_ERR_VALUES),
	                 "body holds more than 10000 values");

	/* Objects of 1000 members until the cap: the value bound stops it. */
	buf_reset(&b);
	buf_adds(&b, "{\"a\":[");
	for (int k = 0; b.len < BODY_CAP - 8000; k++) {
		if (k)
			buf_addch(&b, ',');
		flat_object(&b, BODY_CAP, JSON_MAX_MEMBERS);
	}
	buf_adds(&b, "]}");
	ck_assert_int_eq(
	    timed_parse("json: 1 MiB of 1000-member objects", &b, &root),
	    JSON_ERR_VALUES);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(malformed_bodies_of_a_megabyte)
{
	struct buf b = BUF_INIT(0);
	cJSON *root;

	arena_init(&a, ARENA_CAP);
	while (b.len < BODY_CAP)
		buf_addch(&b, '[');
	ck_assert_int_eq(timed_parse("json: 1 MiB of [", &b, &root),
	                 JSON_ERR_DEPTH);
	buf_reset(&b);
	while (b.len < BODY_CAP)
		buf_addch(&b, ']');
	ck_assert_int_eq(timed_parse("json: 1 MiB of ]", &b, &root),
	                 JSON_ERR_SYNTAX);
	buf_reset(&b);
	buf_addch(&b, '[');
	while (b.len < BODY_CAP)
		buf_addch(&b, ',');
	ck_assert_int_eq(timed_parse("json: 1 MiB of commas", &b, &root),
	                 JSON_ERR_ELEMENTS);
	/* ASCII until the last byte, which is not UTF-8: a full scan. */
	buf_reset(&b);
	buf_adds(&b, "{\"s\":\"");
	while (b.len < BODY_CAP - 3)
		buf_addch(&b, 'x');
	buf_adds(&b, "\xff\"}");
	ck_assert_int_eq(
	    timed_parse("json: 1 MiB ending in bad UTF-8", &b, &root),
	    JSON_ERR_UTF8);
	/* An unterminated string of a megabyte. */
	buf_reset(&b);
	buf_adds(&b, "{\"s\":\"");
	while (b.len < BODY_CAP)
		buf_adds(&b, "\\\"");
	ck_assert_int_eq(
	    timed_parse("json: 1 MiB unterminated string", &b, &root),
	    JSON_ERR_SYNTAX);
	arena_release(&a);
	buf_release(&b);
}
END_TEST

/*
 * The parsed tree's strings must be wiped before cJSON frees them: the
 * free hook looks at the password's bytes as they are handed back.
 */
static const char *watched;
static size_t watched_len;
static int watched_freed, watched_clean;

static void
watching_free(void *p)
{
	if (p && p == watched) {
		watched_freed = 1;
		watched_clean = 1;
		for (size_t i = 0; i < watched_len; i++)
			if (watched[i])
				watched_clean = 0;
	}
	free(p);
}

START_TEST(parsed_strings_are_wiped_before_free)
{
	cJSON_Hooks hooks = {malloc, watching_free};
	cJSON *root, *pw;

	cJSON_InitHooks(&hooks);
	arena_init(&a, 0);
	ck_assert_int_eq(parse("{\"email\":\"a@b.id\",\"password\":"
	                       "\"correct horse battery\"}",
	                       &root),
	                 JSON_OK);
	pw = cJSON_GetObjectItem(root, "password");
	watched = pw->valuestring;
	watched_len = strlen(watched);
	arena_reset(&a);
	ck_assert_int_eq(watched_freed, 1);
	ck_assert_int_eq(watched_clean, 1);
	arena_release(&a);
	cJSON_InitHooks(NULL);
}
END_TEST

UNIT_MAIN("json", numbers_keep_their_literal, refuses_bad_input,
          strings_with_digits_are_not_numbers, output_helpers,
          arena_cap_fails_cleanly,
          issue_8_flat_body_of_a_megabyte_is_refused_at_once,
          object_at_the_member_bound, duplicates_in_big_objects_are_found,
          worst_bodies_that_are_accepted, bounds_on_arrays_and_values,
          malformed_bodies_of_a_megabyte, parsed_strings_are_wiped_before_free)
