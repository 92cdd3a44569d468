#include <string.h>

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
	{ HTTP_GET,    "/customers",              ROLE_VIEWER,   h, NULL, 0, NULL },
	{ HTTP_POST,   "/customers",              ROLE_OPERATOR, h, NULL, 0, NULL },
	{ HTTP_GET,    "/customers/stats",        ROLE_VIEWER,   h, NULL, 0, NULL },
	{ HTTP_GET,    "/customers/:id",          ROLE_VIEWER,   h, NULL, 0, NULL },
	{ HTTP_DELETE, "/customers/:id",          ROLE_ADMIN,    h, NULL, 0, NULL },
	{ HTTP_POST,   "/tickets/:id/comments",   ROLE_TECHNICIAN, h, NULL, 0, NULL },
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
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

START_TEST(openapi_paths_and_roles)
{
	char out[128];

	router_openapi_path("/api/v1", "/tickets/:id/comments", out,
	                    sizeof(out));
	ck_assert_str_eq(out, "/api/v1/tickets/{id}/comments");
	ck_assert_str_eq(role_name(ROLE_TECHNICIAN), "technician");
	ck_assert_int_eq(role_parse("admin"), ROLE_ADMIN);
	ck_assert_int_eq(role_parse("root"), -1);
}
END_TEST

UNIT_MAIN("router", static_and_param_routes, ids_must_be_positive_integers,
          no_partial_or_trailing_matches, method_mismatch_reports_allowed,
          openapi_paths_and_roles)
