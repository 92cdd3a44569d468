/*
 * Platform administration: the tenants of the deployment.  Deleting a
 * tenant removes every row it owns through the schema's foreign keys
 * (every tenant table cascades from tenants), and nothing of any other
 * tenant.
 */
#include "routes.h"

#include <inttypes.h>

#include "db.h"
#include "json.h"
#include "log.h"
#include "store/store.h"

int
platform_tenants_list(struct req *r)
{
	const struct stmt_def *T = store_tenant_stmts;
	int64_t page, per_page;
	struct dbres rows, count;

	if (req_page(r, &page, &per_page) < 0)
		return -1;
	if (db_query(r->db, r->a, &T[TENANT_LIST],
	             DB_ARGS(DBI(per_page), DBI((page - 1) * per_page)),
	             &rows) < 0 ||
	    db_query(r->db, r->a, &T[TENANT_COUNT], DB_NOARGS, &count) < 0)
		return -1;
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
platform_tenants_get(struct req *r)
{
	struct dbres res;

	if (db_query(r->db, r->a, &store_tenant_stmts[TENANT_GET],
	             DB_ARGS(DBI(r->ids[0])), &res) < 0)
		return -1;
	if (res.nrows != 1)
		return req_fail(r, 404, "not_found", "tenant not found");
	return req_data(r, 200, dbres_row_json(&res, 0, NULL));
}

int
platform_tenants_delete(struct req *r)
{
	struct dbres res;

	if (db_query(r->db, r->a, &store_tenant_stmts[TENANT_DELETE],
	             DB_ARGS(DBI(r->ids[0])), &res) < 0)
		return -1;
	if (res.affected != 1)
		return req_fail(r, 404, "not_found", "tenant not found");
	/* The tenant's own audit log went with it; the journal keeps this. */
	log_warn("tenant deleted id=%" PRId64 " by platform admin=%" PRId64,
	         r->ids[0], r->who.user_id);
	return req_no_content(r);
}
