/*
 * Platform administration: the tenants of the deployment.  Deleting a
 * tenant removes every row it owns through the schema's foreign keys
 * (every tenant table cascades from tenants), and nothing of any other
 * tenant.
 */
#include "routes.h"

#include <inttypes.h>

#include "log.h"
#include "reply.h"
#include "store/tenant.h"

int
platform_tenants_list(struct req *r)
{
	int64_t page, per_page, total;
	struct rows rows;

	if (req_page(r, &page, &per_page) < 0 ||
	    store_tenant_list(r->db, r->a, per_page, (page - 1) * per_page,
	                      &rows, &total) < 0)
		return -1;
	return reply_page(r, &rows, page, per_page, total);
}

int
platform_tenants_get(struct req *r)
{
	struct tenant_summary t;

	if (req_found(r, store_tenant_get(r->db, r->a, r->ids[0], &t),
	              "tenant") < 0)
		return -1;
	return reply_row(r, 200, &tenant_summary_row, &t);
}

int
platform_tenants_delete(struct req *r)
{
	if (req_found(r, store_tenant_delete(r->db, r->a, r->ids[0]),
	              "tenant") < 0)
		return -1;
	/* The tenant's own audit log went with it; the journal keeps this. */
	log_warn("tenant deleted id=%" PRId64 " by platform admin=%" PRId64,
	         r->ids[0], r->who.user_id);
	return req_no_content(r);
}
