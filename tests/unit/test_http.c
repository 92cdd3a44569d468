#include <string.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "tests/unit/unit.h"

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

START_TEST(percent_decoding)
{
	int bad;

	setup();
	ck_assert_str_eq(http_decode(&a, "a%20b+c", 7, 0, &bad), "a b+c");
	ck_assert_str_eq(http_decode(&a, "a%20b+c", 7, 1, &bad), "a b c");
	ck_assert_str_eq(http_decode(&a, "caf%C3%A9", 9, 0, &bad),
	                 "caf\xc3\xa9");
	ck_assert_ptr_null(http_decode(&a, "a%00b", 5, 0, &bad));
	ck_assert_int_eq(bad, 1);
	ck_assert_ptr_null(http_decode(&a, "%zz", 3, 0, &bad));
	ck_assert_ptr_null(http_decode(&a, "abc%2", 5, 0, &bad));
	ck_assert_ptr_null(http_decode(&a, "abc%", 4, 0, &bad));
	ck_assert_ptr_null(http_decode(&a, "%C3%28", 6, 0, &bad));
	teardown();
}
END_TEST

START_TEST(query_parsing)
{
	int64_t v;

	setup();
	ck_assert_int_eq(req_parse_query(&r, "page=2&q=budi+s&&flag&x="), 0);
	ck_assert_uint_eq(r.nparams, 4);
	ck_assert_str_eq(req_param(&r, "page"), "2");
	ck_assert_str_eq(req_param(&r, "q"), "budi s");
	ck_assert_str_eq(req_param(&r, "flag"), "");
	ck_assert_str_eq(req_param(&r, "x"), "");
	ck_assert_ptr_null(req_param(&r, "nope"));
	ck_assert_int_eq(req_param_int(&r, "page", 1, 1, 100, &v), 0);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(req_param_int(&r, "per_page", 20, 1, 100, &v), 0);
	ck_assert_int_eq(v, 20);
	ck_assert_int_eq(req_param_int(&r, "q", 1, 1, 100, &v), -1);
	ck_assert_int_eq(r.status, 422);
	teardown();
}
END_TEST

START_TEST(query_limits)
{
	struct buf q = BUF_INIT(0);

	setup();
	for (int i = 0; i < 1000; i++)
		buf_addf(&q, "%sp%d=1", i ? "&" : "", i);
	ck_assert_int_eq(req_parse_query(&r, q.s), -1);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.err_code, "bad_request");
	teardown();
	setup();
	ck_assert_int_eq(req_parse_query(&r, "a=%00"), -1);
	ck_assert_int_eq(r.status, 400);
	teardown();
	buf_release(&q);
}
END_TEST

/*
 * Worst-case query strings.  nginx passes a request line of up to 8 KiB
 * (large_client_header_buffers 4 8k), so that is the query's cap; the
 * worker keeps at most REQ_MAX_PARAMS (100) parameters.  Each shape below
 * is built to that size and must be parsed, and looked up, within the
 * budget.
 */
#define QUERY_CAP 8192

static int
timed_query(const char *what, const char *q)
{
	int rc = 0;

	ck_assert_uint_le(strlen(q), QUERY_CAP);
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, what, rc = req_parse_query(&r, q));
	return rc;
}

START_TEST(worst_case_queries)
{
	struct buf q = BUF_INIT(0);
	const char *v = NULL;

	/* 100 parameters, each value escapes to the cap: all are kept. */
	setup();
	for (int i = 0; i < REQ_MAX_PARAMS; i++) {
		buf_addf(&q, "%sk%d=", i ? "&" : "", i);
		for (int k = 0; k < 9; k++)
			buf_adds(&q, "%C3%A9");
	}
	ck_assert_uint_le(q.len, QUERY_CAP);
	ck_assert_int_eq(timed_query("query: 100 escaped parameters", q.s), 0);
	ck_assert_uint_eq(r.nparams, REQ_MAX_PARAMS);
	/*
	 * Every lookup of an absent key walks all 100; a handler makes a
	 * dozen, 1000 is plenty.
	 */
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, "query: 1000 absent lookups",
	                 for (int i = 0; i < 1000; i++) v =
	                     req_param(&r, "absent"));
	ck_assert_ptr_null(v);
	ck_assert_str_eq(req_param(&r, "k99"), "\xc3\xa9\xc3\xa9\xc3\xa9"
	                                       "\xc3\xa9\xc3\xa9\xc3\xa9"
	                                       "\xc3\xa9\xc3\xa9\xc3\xa9");
	teardown();

	/* As many parameters as fit: refused at the 101st. */
	setup();
	buf_reset(&q);
	while (q.len + 4 <= QUERY_CAP)
		buf_adds(&q, "&a=1");
	ck_assert_int_eq(timed_query("query: 2048 parameters", q.s), -1);
	ck_assert_int_eq(r.status, 400);
	teardown();

	/* One key repeated 100 times: the first one counts. */
	setup();
	buf_reset(&q);
	for (int i = 0; i < REQ_MAX_PARAMS; i++)
		buf_addf(&q, "%spage=%d", i ? "&" : "", i + 1);
	ck_assert_int_eq(timed_query("query: 100 repeated keys", q.s), 0);
	ck_assert_str_eq(req_param(&r, "page"), "1");
	teardown();

	/* Nothing but separators, then one long value of escapes. */
	setup();
	buf_reset(&q);
	while (q.len < QUERY_CAP / 2)
		buf_addch(&q, '&');
	buf_adds(&q, "q=");
	while (q.len + 3 <= QUERY_CAP)
		buf_adds(&q, "%41");
	ck_assert_int_eq(timed_query("query: separators, long value", q.s), 0);
	ck_assert_uint_eq(r.nparams, 1);
	ck_assert_uint_eq(strlen(req_param(&r, "q")),
	                  (QUERY_CAP - QUERY_CAP / 2 - 2) / 3);
	teardown();

	/* A long value whose last escape is bad, and one ending in '%'. */
	setup();
	buf_reset(&q);
	buf_adds(&q, "q=");
	while (q.len + 3 <= QUERY_CAP - 3)
		buf_adds(&q, "+%41");
	buf_adds(&q, "%4");
	ck_assert_int_eq(timed_query("query: bad escape at the end", q.s), -1);
	ck_assert_int_eq(r.status, 400);
	teardown();
	setup();
	buf_reset(&q);
	buf_adds(&q, "q=");
	while (q.len + 4 <= QUERY_CAP - 3)
		buf_adds(&q, "+%41");
	buf_adds(&q, "%ff");
	ck_assert_int_eq(timed_query("query: bad UTF-8 at the end", q.s), -1);
	ck_assert_int_eq(r.status, 400);
	teardown();
	buf_release(&q);
}
END_TEST

/*
 * X-Request-Id is echoed when it is at most 64 safe characters; an 8 KiB
 * header (nginx's cap) of them, or of anything, is replaced cheaply.
 */
START_TEST(worst_case_request_ids)
{
	static char id[8192];

	setup();
	/* The first random id seeds OpenSSL's generator, once a process. */
	req_set_request_id(&r, NULL);
	memset(id, 'a', sizeof(id) - 1);
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, "header: 8 KiB X-Request-Id",
	                 req_set_request_id(&r, id));
	ck_assert_uint_eq(strlen(r.request_id), 32);
	memset(id, '\n', sizeof(id) - 1);
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, "header: 8 KiB of newlines",
	                 req_set_request_id(&r, id));
	ck_assert_uint_eq(strlen(r.request_id), 32);
	id[REQ_ID_MAX] = '\0';
	memset(id, 'b', REQ_ID_MAX);
	req_set_request_id(&r, id);
	ck_assert_str_eq(r.request_id, id);
	teardown();
}
END_TEST

START_TEST(responses_and_errors)
{
	cJSON *o;

	setup();
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", "x");
	ck_assert_int_eq(req_data(&r, 201, o), 0);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(body.s, "{\"data\":{\"name\":\"x\"}}");
	ck_assert_int_eq(req_list(&r, cJSON_CreateArray(), 3, 20, 41), 0);
	ck_assert_str_eq(body.s, "{\"data\":[],\"meta\":{\"page\":3,"
	                         "\"per_page\":20,\"total\":41,"
	                         "\"total_pages\":3}}");
	ck_assert_int_eq(req_fail(&r, 404, "not_found", "customer not found"),
	                 -1);
	http_error(&r);
	ck_assert_str_eq(body.s, "{\"error\":{\"code\":\"not_found\","
	                         "\"message\":\"customer not found\"}}");
	teardown();

	/* A failure nobody described becomes a bare 500, no internals. */
	setup();
	http_error(&r);
	ck_assert_int_eq(r.status, 500);
	ck_assert_ptr_nonnull(strstr(body.s, "\"code\":\"internal\""));
	teardown();
}
END_TEST

START_TEST(request_ids)
{
	setup();
	req_set_request_id(&r, "abc-123_x.y");
	ck_assert_str_eq(r.request_id, "abc-123_x.y");
	req_set_request_id(&r, "bad id\r\nInjected: 1");
	ck_assert_uint_eq(strlen(r.request_id), 32);
	req_set_request_id(&r, NULL);
	ck_assert_uint_eq(strlen(r.request_id), 32);
	req_set_request_id(&r, "01234567890123456789012345678901234567890123456"
	                       "78901234567890123456789");
	ck_assert_uint_eq(strlen(r.request_id), 32);
	teardown();
}
END_TEST

START_TEST(methods)
{
	ck_assert_int_eq(http_method_parse("PATCH"), HTTP_PATCH);
	ck_assert_int_eq(http_method_parse("patch"), HTTP_NONE);
	ck_assert_int_eq(http_method_parse("BREW"), HTTP_NONE);
	ck_assert_str_eq(http_method_name(HTTP_DELETE), "DELETE");
	ck_assert_str_eq(http_reason(422), "Unprocessable Content");
}
END_TEST

UNIT_MAIN("http", percent_decoding, query_parsing, query_limits,
          worst_case_queries, worst_case_request_ids, responses_and_errors,
          request_ids, methods)
