#include <string.h>

#include "arena.h"
#include "buf.h"
#include "fields.h"
#include "valid.h"
#include "http.h"
#include "json.h"
#include "tests/unit/unit.h"

static const char *const kinds[] = {"fiber", "wireless", NULL};

/* clang-format off */
static const struct field fields[] = {
	{ "name",     FT_STRING,   1, 10,  F_REQUIRED | F_TEXT, NULL },
	{ "price",    FT_MONEY,    0, 0,   F_REQUIRED, NULL },
	{ "priority", FT_INT,      1, 8,   0, NULL },
	{ "active",   FT_BOOL,     0, 0,   0, NULL },
	{ "email",    FT_EMAIL,    0, 0,   F_NULLABLE, NULL },
	{ "phone",    FT_PHONE,    0, 0,   0, NULL },
	{ "kind",     FT_ENUM,     0, 0,   0, kinds },
	{ "day",      FT_DATE,     0, 0,   0, NULL },
	{ "ip",       FT_IP,       0, 0,   0, NULL },
	{ "slug",     FT_SLUG,     0, 0,   0, NULL },
	{ "plan_id",  FT_ID,       0, 0,   0, NULL },
	{ "password", FT_PASSWORD, 10, 128, F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

static struct arena a;
static struct buf hdrs, body;
static struct req r;

static void
setup(void)
{
	arena_init(&a, 0);
	buf_init(&hdrs, 0);
	buf_init(&body, 0);
	memset(&r, 0, sizeof(r));
	r.a = &a;
	r.headers = &hdrs;
	r.body_out = &body;
}

static void
teardown(void)
{
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&body);
}

static int
validate(const char *json, int partial)
{
	cJSON *obj;

	setup();
	ck_assert_int_eq(json_parse(&a, json, strlen(json), &obj), JSON_OK);
	return fields_validate(&r, fields, obj, partial);
}

/* The JSON error body the request would get. */
static const char *
error_body(void)
{
	http_error(&r);
	return body.s;
}

START_TEST(valid_body_fills_values)
{
	ck_assert_int_eq(
	    validate("{\"name\": \"Paket 10M\", \"price\": "
	             "150000.5, \"priority\": 8, \"active\": false, "
	             "\"email\": null, \"phone\": \"+6281234567890\", "
	             "\"kind\": \"fiber\", \"day\": \"2024-02-29\", "
	             "\"ip\": \"fe80::1\", \"slug\": \"rt-05\", "
	             "\"plan_id\": 3, \"password\": \"correct horse\"}",
	             0),
	    0);
	ck_assert_str_eq(r.vals[0].s, "Paket 10M");
	ck_assert_str_eq(r.vals[1].s, "150000.5");
	ck_assert_int_eq(r.vals[2].i, 8);
	ck_assert_int_eq(r.vals[3].present, 1);
	ck_assert_int_eq(r.vals[3].i, 0);
	ck_assert_int_eq(r.vals[4].is_null, 1);
	ck_assert_int_eq(r.vals[10].i, 3);
	ck_assert_int_eq(r.vals[5].present, 1);
	teardown();
}
END_TEST

START_TEST(required_and_unknown_fields)
{
	const char *out;

	ck_assert_int_eq(validate("{\"nmae\": \"typo\"}", 0), -1);
	ck_assert_int_eq(r.status, 422);
	out = error_body();
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"validation_failed\""));
	ck_assert_ptr_nonnull(strstr(
	    out, "{\"field\":\"nmae\",\"message\":\"is not a known field\"}"));
	ck_assert_ptr_nonnull(
	    strstr(out, "{\"field\":\"name\",\"message\":\"is required\"}"));
	ck_assert_ptr_nonnull(
	    strstr(out, "{\"field\":\"price\",\"message\":\"is required\"}"));
	teardown();
	/* PATCH: nothing is required, unknown still refused. */
	ck_assert_int_eq(validate("{}", 1), 0);
	teardown();
	ck_assert_int_eq(validate("{\"x\": 1}", 1), -1);
	teardown();
}
END_TEST

START_TEST(type_and_range_errors)
{
	static const char *const bad[] = {
	    "{\"name\": 5, \"price\": 1}",
	    "{\"name\": \"\", \"price\": 1}",
	    "{\"name\": \"12345678901\", \"price\": 1}",
	    "{\"name\": \"<script>x\", \"price\": 1}",
	    "{\"name\": \"a\", \"price\": 0}",
	    "{\"name\": \"a\", \"price\": -1}",
	    "{\"name\": \"a\", \"price\": 1.234}",
	    "{\"name\": \"a\", \"price\": 1e3}",
	    "{\"name\": \"a\", \"price\": \"100\"}",
	    "{\"name\": \"a\", \"price\": 1, \"priority\": 9}",
	    "{\"name\": \"a\", \"price\": 1, \"priority\": 1.5}",
	    "{\"name\": \"a\", \"price\": 1, \"active\": 1}",
	    "{\"name\": \"a\", \"price\": 1, \"email\": \"a@b\"}",
	    "{\"name\": \"a\", \"price\": 1, \"phone\": \"0812-345\"}",
	    "{\"name\": \"a\", \"price\": 1, \"kind\": \"cable\"}",
	    "{\"name\": \"a\", \"price\": 1, \"day\": \"2023-02-29\"}",
	    "{\"name\": \"a\", \"price\": 1, \"ip\": \"300.1.1.1\"}",
	    "{\"name\": \"a\", \"price\": 1, \"slug\": \"-bad\"}",
	    "{\"name\": \"a\", \"price\": 1, \"plan_id\": 0}",
	    "{\"name\": \"a\", \"price\": 1, \"password\": \"short\"}",
	    "{\"name\": null, \"price\": 1}",
	    "{\"name\": \"a\", \"price\": 1, \"phone\": null}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = validate(bad[i], 0);
		if (rc != -1 || r.status != 422)
			ck_abort_msg("accepted: %s", bad[i]);
		teardown();
	}
}
END_TEST

START_TEST(markup_rule)
{
	ck_assert_int_eq(valid_markup("<b>", 3), 1);
	ck_assert_int_eq(valid_markup("</x", 3), 1);
	ck_assert_int_eq(valid_markup("<!--", 4), 1);
	ck_assert_int_eq(valid_markup("<?php", 5), 1);
	ck_assert_int_eq(valid_markup("JavaScript:alert(1)", 19), 1);
	ck_assert_int_eq(valid_markup("java\tscript:x", 13), 1);
	ck_assert_int_eq(valid_markup("speed < 10", 10), 0);
	ck_assert_int_eq(valid_markup("a<3", 3), 0);
	ck_assert_int_eq(valid_markup("Jl. Merdeka No. 5", 17), 0);
	ck_assert_int_eq(valid_markup("java script", 11), 0);
	ck_assert_int_eq(valid_markup("<", 1), 0);
}
END_TEST

START_TEST(format_checks)
{
	ck_assert_int_eq(valid_email("budi@rtrw.id", 12), 1);
	ck_assert_int_eq(valid_email("budi@@rtrw.id", 13), 0);
	ck_assert_int_eq(valid_email("budi@rtrw", 9), 0);
	ck_assert_int_eq(valid_email("bu di@rtrw.id", 13), 0);
	ck_assert_int_eq(valid_email("budi@rtrw..id", 13), 0);
	ck_assert_int_eq(valid_phone("081234567890", 12), 1);
	ck_assert_int_eq(valid_phone("+62812345678", 12), 1);
	ck_assert_int_eq(valid_phone("1234567", 7), 0);
	ck_assert_int_eq(valid_phone("1234567890123456", 16), 0);
	ck_assert_int_eq(valid_money("0.5", 3, 0), 1);
	ck_assert_int_eq(valid_money("0", 1, 0), 0);
	ck_assert_int_eq(valid_money("0", 1, 1), 1);
	ck_assert_int_eq(valid_money("999999999999.99", 15, 0), 1);
	ck_assert_int_eq(valid_money("1000000000000", 13, 0), 0);
	ck_assert_int_eq(valid_money("01", 2, 0), 0);
	ck_assert_int_eq(valid_money("1.", 2, 0), 0);
	ck_assert_int_eq(valid_date("2000-02-29", 10), 1);
	ck_assert_int_eq(valid_date("1900-02-29", 10), 0);
	ck_assert_int_eq(valid_date("2026-04-31", 10), 0);
	ck_assert_int_eq(valid_date("2026-4-1", 8), 0);
	ck_assert_int_eq(valid_ip("192.168.1.1"), 1);
	ck_assert_int_eq(valid_ip("::ffff:10.0.0.1"), 1);
	ck_assert_int_eq(valid_ip("192.168.1"), 0);
	ck_assert_int_eq(valid_ip("localhost"), 0);
}
END_TEST

UNIT_MAIN("fields", valid_body_fills_values, required_and_unknown_fields,
          type_and_range_errors, markup_rule, format_checks)
