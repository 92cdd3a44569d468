#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "router.h"
#include "tests/unit/unit.h"

static int
h(struct req *r)
{
	(void)r;
	return 0;
}

/* clang-format off */
static const struct route table[] = {
	{ HTTP_GET,    "/customers",              ROLE_VIEWER,   h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_POST,   "/customers",              ROLE_OPERATOR, h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_GET,    "/customers/stats",        ROLE_VIEWER,   h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_GET,    "/customers/:id",          ROLE_VIEWER,   h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_DELETE, "/customers/:id",          ROLE_ADMIN,    h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_POST,   "/tickets/:id/comments",   ROLE_TECHNICIAN, h, NULL, 0, NULL, NULL, NULL },
	{ HTTP_PUT,    "/email-templates/{key}",  ROLE_ADMIN,    h, NULL, 0, NULL, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL }
};
/* clang-format on */

static const struct route *
match(enum http_method m, const char *path, unsigned *allowed)
{
	int64_t ids[REQ_MAX_IDS];
	size_t nids = 0;

	return router_match(table, m, path, ids, &nids, allowed);
}

START_TEST(static_and_param_routes)
{
	int64_t ids[REQ_MAX_IDS];
	size_t nids = 0;
	unsigned allowed;
	const struct route *rt;

	rt = router_match(table, HTTP_GET, "/customers/42", ids, &nids,
	                  &allowed);
	ck_assert_ptr_eq(rt, &table[3]);
	ck_assert_uint_eq(nids, 1);
	ck_assert_int_eq(ids[0], 42);
	/* A literal segment wins when listed first. */
	ck_assert_ptr_eq(match(HTTP_GET, "/customers/stats", &allowed),
	                 &table[2]);
	ck_assert_ptr_eq(match(HTTP_POST, "/customers", &allowed), &table[1]);
	rt = router_match(table, HTTP_POST, "/tickets/7/comments", ids, &nids,
	                  &allowed);
	ck_assert_ptr_eq(rt, &table[5]);
	ck_assert_int_eq(ids[0], 7);
}
END_TEST

START_TEST(ids_must_be_positive_integers)
{
	unsigned allowed;

	ck_assert_ptr_null(match(HTTP_GET, "/customers/abc", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customers/0", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customers/-1", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customers/007", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customers/1e3", &allowed));
	ck_assert_ptr_null(
	    match(HTTP_GET, "/customers/99999999999999999999", &allowed));
	ck_assert_uint_eq(allowed, 0);
}
END_TEST

START_TEST(no_partial_or_trailing_matches)
{
	unsigned allowed;

	ck_assert_ptr_null(match(HTTP_GET, "/customers/", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customers/1/", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/customersx", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "//customers", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "", &allowed));
	ck_assert_ptr_null(match(HTTP_GET, "/", &allowed));
}
END_TEST

START_TEST(method_mismatch_reports_allowed)
{
	unsigned allowed;
	char allow[64];

	ck_assert_ptr_null(match(HTTP_PATCH, "/customers/5", &allowed));
	router_allow_header(allowed, allow, sizeof(allow));
	ck_assert_str_eq(allow, "GET, HEAD, DELETE");
	ck_assert_ptr_eq(match(HTTP_HEAD, "/customers", &allowed), &table[0]);
}
END_TEST

START_TEST(word_segments)
{
	char long_key[ROUTER_WORD_MAX + 40];
	unsigned allowed;

	ck_assert_ptr_eq(
	    match(HTTP_PUT, "/email-templates/payment_overdue", &allowed),
	    &table[6]);
	ck_assert_ptr_eq(match(HTTP_PUT, "/email-templates/a-1_b", &allowed),
	                 &table[6]);
	/* Anything else in the segment, or no segment, does not match. */
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/", &allowed));
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/Upper", &allowed));
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/a.b", &allowed));
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/a%2Fb", &allowed));
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/a/b", &allowed));
	ck_assert_ptr_null(match(HTTP_PUT, "/email-templates/{key}", &allowed));
	snprintf(long_key, sizeof(long_key), "/email-templates/%0*d",
	         ROUTER_WORD_MAX, 0);
	ck_assert_ptr_eq(match(HTTP_PUT, long_key, &allowed), &table[6]);
	snprintf(long_key, sizeof(long_key), "/email-templates/%0*d",
	         ROUTER_WORD_MAX + 1, 0);
	ck_assert_ptr_null(match(HTTP_PUT, long_key, &allowed));
	ck_assert_ptr_null(
	    match(HTTP_GET, "/email-templates/payment_overdue", &allowed));
	ck_assert_uint_eq(allowed, 1u << HTTP_PUT);
}
END_TEST

START_TEST(openapi_paths_and_roles)
{
	char out[128];

	router_openapi_path("/api/v1", "/tickets/:id/comments", out,
	                    sizeof(out));
	ck_assert_str_eq(out, "/api/v1/tickets/{id}/comments");
	router_openapi_path("/api/v1", "/email-templates/{key}", out,
	                    sizeof(out));
	ck_assert_str_eq(out, "/api/v1/email-templates/{key}");
	ck_assert_str_eq(role_name(ROLE_TECHNICIAN), "technician");
	ck_assert_int_eq(role_parse("admin"), ROLE_ADMIN);
	ck_assert_int_eq(role_parse("root"), -1);
}
END_TEST

/*
 * Worst-case paths.  The worker refuses a raw path longer than
 * REQ_MAX_PATH (2048 bytes) with 414, then percent-decodes it and matches
 * it against the route table.  The real table (fcgi/routes.c) has 60
 * routes of at most three segments; this one has four times as many, of
 * the same shapes, and one real route last, so that every path is tried
 * against all of them.
 */
#define NROUTES 240

static struct route big[NROUTES + 2];
static char patterns[NROUTES][48];

static void
big_table(void)
{
	for (int i = 0; i < NROUTES; i++) {
		char *p = patterns[i];
		size_t n = sizeof(patterns[i]);

		switch (i % 4) {
		case 0:
			snprintf(p, n, "/res%d", i / 4);
			break;
		case 1:
			snprintf(p, n, "/res%d/:id", i / 4);
			break;
		case 2:
			snprintf(p, n, "/res%d/:id/sub", i / 4);
			break;
		default:
			snprintf(p, n, "/res%d/:id/sub/:id", i / 4);
			break;
		}
		big[i] = (struct route){.method = HTTP_GET,
		                        .pattern = p,
		                        .role = ROLE_VIEWER,
		                        .handler = h};
	}
	big[NROUTES] = (struct route){.method = HTTP_GET,
	                              .pattern = "/customers/:id/comments/:id",
	                              .role = ROLE_VIEWER,
	                              .handler = h};
	memset(&big[NROUTES + 1], 0, sizeof(big[0]));
}

/* Decodes raw as the worker does and matches it, within the budget. */
static const struct route *
timed_route(struct arena *a, const char *what, const char *raw, int64_t *ids,
            size_t *nids)
{
	const struct route *rt = NULL;
	unsigned allowed;

	ck_assert_uint_le(strlen(raw), REQ_MAX_PATH);
	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, what, {
		int bad;
		char *path = http_decode(a, raw, strlen(raw), 0, &bad);

		if (path)
			rt = router_match(big, HTTP_GET, path, ids, nids,
			                  &allowed);
	});
	return rt;
}

START_TEST(worst_case_paths)
{
	struct arena a;
	struct buf b = BUF_INIT(0);
	int64_t ids[REQ_MAX_IDS];
	size_t nids = 0;

	big_table();
	arena_init(&a, 0);
	/* As many segments as fit. */
	while (b.len + 2 <= REQ_MAX_PATH)
		buf_adds(&b, "/a");
	ck_assert_ptr_null(
	    timed_route(&a, "path: 1024 segments", b.s, ids, &nids));
	/* A prefix every route shares, then one long segment. */
	buf_reset(&b);
	buf_adds(&b, "/res59/1/sub/");
	while (b.len < REQ_MAX_PATH)
		buf_addch(&b, '7');
	ck_assert_ptr_null(
	    timed_route(&a, "path: 2035-digit id", b.s, ids, &nids));
	/* Ids at the limit match; one more does not. */
	ck_assert_ptr_eq(timed_route(&a, "path: ids at INT64_MAX",
	                             "/customers/9223372036854775807/"
	                             "comments/9223372036854775807",
	                             ids, &nids),
	                 &big[NROUTES]);
	ck_assert_uint_eq(nids, 2);
	ck_assert_int_eq(ids[0], INT64_MAX);
	ck_assert_int_eq(ids[1], INT64_MAX);
	ck_assert_ptr_null(timed_route(&a, "path: id past INT64_MAX",
	                               "/customers/9223372036854775808/"
	                               "comments/1",
	                               ids, &nids));
	/* Escapes all the way: 682 of them decode to the real route. */
	buf_reset(&b);
	buf_adds(&b, "%2Fcustomers%2F12%2Fcomments%2F");
	while (b.len + 3 <= REQ_MAX_PATH)
		buf_adds(&b, "%31");
	ck_assert_ptr_null(
	    timed_route(&a, "path: 2048 bytes of escapes", b.s, ids, &nids));
	buf_truncate(&b, 31 + 3 * 18);
	ck_assert_ptr_eq(
	    timed_route(&a, "path: escaped real route", b.s, ids, &nids),
	    &big[NROUTES]);
	ck_assert_int_eq(ids[1], 111111111111111111LL);
	/* A bad escape at the very end is found after a full pass. */
	buf_reset(&b);
	while (b.len + 3 <= REQ_MAX_PATH - 2)
		buf_adds(&b, "%41");
	buf_adds(&b, "%g");
	ck_assert_ptr_null(
	    timed_route(&a, "path: bad escape at the end", b.s, ids, &nids));
	arena_release(&a);
	buf_release(&b);
}
END_TEST

UNIT_MAIN("router", static_and_param_routes, ids_must_be_positive_integers,
          no_partial_or_trailing_matches, method_mismatch_reports_allowed,
          word_segments, openapi_paths_and_roles, worst_case_paths)
