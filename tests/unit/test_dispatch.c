/*
 * The request pipeline without FastCGI: a fake route table, requests
 * built by hand, and the status and body that come back.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "fields.h"
#include "tests/unit/unit.h"

/* clang-format off */
static const struct field thing_fields[] = {
	{ "name",  FT_STRING, 1, 50, F_REQUIRED | F_TEXT, NULL },
	{ "count", FT_INT,    0, 9,  0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

static int handler_calls;

static int
thing_create(struct req *r)
{
	cJSON *o = cJSON_CreateObject();

	handler_calls++;
	cJSON_AddStringToObject(o, "name", r->vals[0].s);
	return req_data(r, 201, o);
}

/* What the PATCH handler was given, copied before the arena goes. */
static struct {
	int calls;
	int64_t id;
	size_t nids;
	struct fval name, count;
	char name_s[64];
} patched;

static int
thing_patch(struct req *r)
{
	handler_calls++;
	patched.calls++;
	patched.id = r->nids ? r->ids[0] : 0;
	patched.nids = r->nids;
	patched.name = r->vals[0];
	patched.count = r->vals[1];
	snprintf(patched.name_s, sizeof(patched.name_s), "%s",
	         r->vals[0].s ? r->vals[0].s : "");
	patched.name.s = NULL;
	patched.count.s = NULL;
	return req_no_content(r);
}

static int
thing_fail(struct req *r)
{
	(void)r;
	handler_calls++;
	return -1;
}

static int
thing_action(struct req *r)
{
	handler_calls++;
	return req_no_content(r);
}

/* clang-format off */
static const struct route api[] = {
	{ HTTP_POST, "/things",            ROLE_PUBLIC, thing_create, thing_fields, R_BODY, NULL, NULL, NULL },
	{ HTTP_PATCH, "/things/:id",       ROLE_PUBLIC, thing_patch,  thing_fields, R_BODY | R_PARTIAL, NULL, NULL, NULL },
	{ HTTP_GET,  "/things/:id",        ROLE_PUBLIC, thing_fail,   NULL, 0, NULL, NULL, NULL },
	{ HTTP_POST, "/things/:id/poke",   ROLE_PUBLIC, thing_action, NULL, R_BODY, NULL, NULL, NULL },
	{ HTTP_GET,  "/secret",            ROLE_VIEWER, thing_action, NULL, 0, NULL, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL }
};
static const struct route root[] = {
	{ 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL }
};
/* clang-format on */

static struct config cfg;
static struct app app;
static struct arena a;
static struct buf hdrs, body;
static struct req r;
static const char *authorization; /* the next request's header */

static void
run(enum http_method m, const char *path, const char *ctype,
    const char *payload, size_t len, int too_large)
{
	config_defaults(&cfg);
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	app.api_routes = api;
	app.root_routes = root;
	arena_init(&a, 0);
	buf_init(&hdrs, 0);
	buf_init(&body, 0);
	memset(&r, 0, sizeof(r));
	r.a = &a;
	r.headers = &hdrs;
	r.body_out = &body;
	r.method = m;
	r.path = path;
	r.content_type = ctype;
	r.body = payload;
	r.body_len = payload ? (len ? len : strlen(payload)) : 0;
	r.authorization = authorization;
	handler_calls = 0;
	dispatch(&app, &r, too_large);
}

static void
done(void)
{
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&body);
}

#define JSON "application/json; charset=utf-8"

static void
expect(int status, const char *code)
{
	ck_assert_int_eq(r.status, status);
	if (code) {
		char want[64];
		snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
		ck_assert_msg(strstr(body.s, want), "body %s lacks %s", body.s,
		              want);
	}
}

START_TEST(good_request_reaches_handler)
{
	run(HTTP_POST, "/api/v1/things", JSON, "{\"name\":\"x\",\"count\":3}",
	    0, 0);
	expect(201, NULL);
	ck_assert_str_eq(body.s, "{\"data\":{\"name\":\"x\"}}");
	ck_assert_int_eq(handler_calls, 1);
	done();
}
END_TEST

START_TEST(bad_bodies_never_reach_handler)
{
	static const struct {
		const char *ctype, *body;
		size_t len;
		int status;
		const char *code;
	} cases[] = {
	    {JSON, "{\"name\":", 0, 400, "bad_request"},
	    {JSON, "[1,2]", 0, 400, "bad_request"},
	    {JSON, "\"str\"", 0, 400, "bad_request"},
	    {"text/plain", "{\"name\":\"x\"}", 0, 400, "bad_request"},
	    {NULL, "{\"name\":\"x\"}", 0, 400, "bad_request"},
	    {"application/json; charset=latin1", "{\"name\":\"x\"}", 0, 400,
	     "bad_request"},
	    {JSON, "{\"name\":\"\xff\"}", 0, 400, "bad_request"},
	    {JSON, "{\"name\":\"a\0b\"}", 13, 400, "bad_request"},
	    {JSON, "{\"name\":\"a\\u0000b\"}", 0, 400, "bad_request"},
	    {JSON, "{\"name\":\"x\",\"name\":\"y\"}", 0, 400, "bad_request"},
	    {JSON, "{\"name\":\"<img src=x>\"}", 0, 422, "validation_failed"},
	    {JSON, "{\"name\":\"x\",\"extra\":1}", 0, 422, "validation_failed"},
	    {JSON, "{}", 0, 422, "validation_failed"},
	    {JSON, "", 0, 400, "bad_request"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(HTTP_POST, "/api/v1/things", cases[i].ctype, cases[i].body,
		    cases[i].len, 0);
		ck_assert_msg(r.status == cases[i].status,
		              "case %zu: status %d body %s", i, r.status,
		              body.s);
		expect(cases[i].status, cases[i].code);
		ck_assert_int_eq(handler_calls, 0);
		done();
	}
}
END_TEST

START_TEST(too_large_is_413)
{
	run(HTTP_POST, "/api/v1/things", JSON, "{}", 0, 1);
	expect(413, "payload_too_large");
	ck_assert_int_eq(handler_calls, 0);
	done();
}
END_TEST

START_TEST(routing_errors)
{
	run(HTTP_GET, "/api/v1/nothing", NULL, NULL, 0, 0);
	expect(404, "not_found");
	done();
	run(HTTP_DELETE, "/api/v1/things", NULL, NULL, 0, 0);
	expect(405, "method_not_allowed");
	ck_assert_str_eq(hdrs.s, "Allow: POST\r\n");
	done();
	run(HTTP_NONE, "/api/v1/things", NULL, NULL, 0, 0);
	expect(405, "method_not_allowed");
	done();
	run(HTTP_GET, "/things/1", NULL, NULL, 0, 0);
	expect(404, "not_found");
	done();
}
END_TEST

START_TEST(handler_failure_is_500_without_details)
{
	run(HTTP_GET, "/api/v1/things/4", NULL, NULL, 0, 0);
	expect(500, "internal");
	ck_assert_int_eq(handler_calls, 1);
	done();
}
END_TEST

START_TEST(actions_take_empty_or_empty_object_bodies)
{
	run(HTTP_POST, "/api/v1/things/4/poke", NULL, NULL, 0, 0);
	expect(204, NULL);
	done();
	run(HTTP_POST, "/api/v1/things/4/poke", JSON, "{}", 0, 0);
	expect(204, NULL);
	done();
	run(HTTP_POST, "/api/v1/things/4/poke", JSON, "{\"x\":1}", 0, 0);
	expect(422, "validation_failed");
	done();
}
END_TEST

/*
 * A PATCH reaches its handler with exactly what was sent: the id from the
 * path, the fields present with their values, the absent ones absent (a
 * required field is optional here), nothing else.
 */
START_TEST(patch_hands_over_only_the_fields_sent)
{
	memset(&patched, 0, sizeof(patched));
	run(HTTP_PATCH, "/api/v1/things/4", JSON, "{\"count\":7}", 0, 0);
	expect(204, NULL);
	ck_assert_int_eq(patched.calls, 1);
	ck_assert_int_eq(patched.nids, 1);
	ck_assert_int_eq(patched.id, 4);
	ck_assert_int_eq(patched.count.present, 1);
	ck_assert_int_eq(patched.count.is_null, 0);
	ck_assert_int_eq(patched.count.i, 7);
	ck_assert_int_eq(patched.name.present, 0);
	done();

	memset(&patched, 0, sizeof(patched));
	run(HTTP_PATCH, "/api/v1/things/12", JSON, "{\"name\":\"baru\"}", 0, 0);
	expect(204, NULL);
	ck_assert_int_eq(patched.id, 12);
	ck_assert_int_eq(patched.name.present, 1);
	ck_assert_str_eq(patched.name_s, "baru");
	ck_assert_int_eq(patched.name.len, 4);
	ck_assert_int_eq(patched.count.present, 0);
	done();

	/* An empty PATCH body is no change at all, not an error. */
	memset(&patched, 0, sizeof(patched));
	run(HTTP_PATCH, "/api/v1/things/5", NULL, NULL, 0, 0);
	expect(204, NULL);
	ck_assert_int_eq(patched.calls, 1);
	ck_assert_int_eq(patched.name.present, 0);
	ck_assert_int_eq(patched.count.present, 0);
	done();

	/* A bad value in a PATCH never reaches the handler. */
	memset(&patched, 0, sizeof(patched));
	run(HTTP_PATCH, "/api/v1/things/5", JSON, "{\"count\":10}", 0, 0);
	expect(422, "validation_failed");
	ck_assert_int_eq(patched.calls, 0);
	done();
}
END_TEST

START_TEST(protected_routes_need_a_token)
{
	run(HTTP_GET, "/api/v1/secret", NULL, NULL, 0, 0);
	expect(401, "unauthorized");
	ck_assert_int_eq(handler_calls, 0);
	done();
}
END_TEST

/*
 * Worst-case header values the pipeline parses: Authorization and
 * Content-Type.  nginx passes header lines of up to 8 KiB
 * (large_client_header_buffers 4 8k); each value below is that long and
 * the whole request must cost at most UNIT_CPU_BUDGET_MS of CPU.
 */
#define HEADER_CAP 8192

static void
timed_run(const char *what, enum http_method m, const char *path,
          const char *ctype, const char *payload)
{
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, what,
	                 run(m, path, ctype, payload, 0, 0));
}

START_TEST(worst_case_authorization)
{
	static char h[HEADER_CAP];

	/* A bearer token of the whole header: refused on its length. */
	memcpy(h, "Bearer ", 7);
	memset(h + 7, 'A', sizeof(h) - 8);
	authorization = h;
	timed_run("header: 8 KiB bearer token", HTTP_GET, "/api/v1/secret",
	          NULL, NULL);
	expect(401, "unauthorized");
	ck_assert_int_eq(handler_calls, 0);
	done();
	/* Just under the token cap, three segments of junk. */
	memset(h + 7, '.', 1016);
	h[7 + 1016] = '\0';
	memset(h + 7, '*', 1000);
	timed_run("header: 1016-byte junk token", HTTP_GET, "/api/v1/secret",
	          NULL, NULL);
	expect(401, "unauthorized");
	done();
	/* Not a bearer scheme at all. */
	memset(h, ' ', sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	timed_run("header: 8 KiB of spaces", HTTP_GET, "/api/v1/secret", NULL,
	          NULL);
	expect(401, "unauthorized");
	done();
	authorization = NULL;
}
END_TEST

START_TEST(worst_case_content_types)
{
	static const char payload[] = "{\"name\":\"x\"}";
	struct buf ct = BUF_INIT(0);

	/* Parameters padded with spaces to the cap are still JSON. */
	buf_adds(&ct, "application/json;");
	while (ct.len + 14 < HEADER_CAP)
		buf_addch(&ct, ' ');
	buf_adds(&ct, "charset=utf-8");
	timed_run("header: 8 KiB Content-Type", HTTP_POST, "/api/v1/things",
	          ct.s, payload);
	expect(201, NULL);
	done();
	/* A charset of 8 KiB is not UTF-8. */
	buf_reset(&ct);
	buf_adds(&ct, "application/json; charset=");
	while (ct.len < HEADER_CAP - 1)
		buf_addch(&ct, 'u');
	timed_run("header: 8 KiB charset", HTTP_POST, "/api/v1/things", ct.s,
	          payload);
	expect(400, "bad_request");
	ck_assert_int_eq(handler_calls, 0);
	done();
	/* Not JSON, 8 KiB long. */
	buf_reset(&ct);
	while (ct.len < HEADER_CAP - 1)
		buf_addch(&ct, 'x');
	timed_run("header: 8 KiB other type", HTTP_POST, "/api/v1/things", ct.s,
	          payload);
	expect(400, "bad_request");
	done();
	buf_release(&ct);
}
END_TEST

/*
 * The bounds of json_parse() reach the client as 400 bad_request with a
 * sentence naming the bound, and the handler never runs.
 */
START_TEST(bodies_past_the_json_bounds_are_400)
{
	struct buf b = BUF_INIT(0);

	buf_adds(&b, "{\"name\":\"x\"");
	for (int i = 0; i < 2000; i++)
		buf_addf(&b, ",\"k%d\":0", i);
	buf_addch(&b, '}');
	timed_run("dispatch: 2000 members", HTTP_POST, "/api/v1/things", JSON,
	          b.s);
	expect(400, "bad_request");
	ck_assert_ptr_nonnull(strstr(body.s, "more than 1000 members"));
	ck_assert_int_eq(handler_calls, 0);
	done();
	buf_release(&b);
}
END_TEST

UNIT_MAIN("dispatch", good_request_reaches_handler,
          bad_bodies_never_reach_handler, too_large_is_413, routing_errors,
          handler_failure_is_500_without_details,
          actions_take_empty_or_empty_object_bodies,
          patch_hands_over_only_the_fields_sent, protected_routes_need_a_token,
          worst_case_authorization, worst_case_content_types,
          bodies_past_the_json_bounds_are_400)
