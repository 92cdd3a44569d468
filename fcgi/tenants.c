/*
 * Tenant registration (public) and the tenant's own settings.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "db.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "config.h"
#include "store/store.h"

/* clang-format off */
const struct field tenant_register_fields[] = {
	{ "tenant_name",    FT_STRING,   1, 200, F_REQUIRED | F_TEXT, NULL },
	{ "tenant_slug",    FT_SLUG,     0, 0,   F_REQUIRED, NULL },
	{ "admin_name",     FT_STRING,   1, 100, F_REQUIRED | F_TEXT, NULL },
	{ "admin_email",    FT_EMAIL,    0, 0,   F_REQUIRED, NULL },
	{ "admin_password", FT_PASSWORD, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ "timezone",       FT_STRING,   1, 64,  0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { R_TNAME, R_SLUG, R_ANAME, R_AEMAIL, R_APASS, R_TZ };

const struct field tenant_update_fields[] = {
	{ "name",     FT_STRING, 1, 200, F_TEXT, NULL },
	{ "timezone", FT_STRING, 1, 64,  0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { U_NAME, U_TZ };
/* clang-format on */

int
tenants_register(struct req *r)
{
	struct new_tenant nt;
	struct limit_result l;
	struct dbres tenant, user;
	int64_t tenant_id, user_id;
	char subject[96];
	cJSON *d;
	struct tdb *t;

	/* Registration has its own, much stricter, per-IP limit. */
	snprintf(subject, sizeof(subject), "reg:%s",
	         r->remote_addr ? r->remote_addr : "-");
	limits_hit(r->cache, subject, r->cfg->register_limit_per_hour, 3600,
	           time(NULL), &l);
	if (l.limited) {
		char v[24];

		snprintf(v, sizeof(v), "%" PRId64, l.retry_after);
		req_header(r, "Retry-After", v);
		return req_fail(r, 429, "rate_limited",
		                "too many registrations from this address; "
		                "try again later");
	}
	if (strcmp(r->vals[R_SLUG].s, IDENTITY_PLATFORM_SLUG) == 0) {
		return req_invalid(r, "tenant_slug", "is reserved");
	}
	if (r->vals[R_TZ].present && !identity_timezone_ok(r->vals[R_TZ].s))
		return req_invalid(
		    r, "timezone",
		    "must be a time zone name such as Asia/Jakarta");
	memset(&nt, 0, sizeof(nt));
	nt.slug = r->vals[R_SLUG].s;
	nt.name = r->vals[R_TNAME].s;
	nt.timezone = r->vals[R_TZ].present ? r->vals[R_TZ].s : NULL;
	nt.admin_name = r->vals[R_ANAME].s;
	nt.admin_email = r->vals[R_AEMAIL].s;
	nt.admin_password = r->vals[R_APASS].s;
	nt.ip = r->remote_addr;
	nt.user_agent = r->user_agent;
	switch (identity_tenant_create(r->db, r->a, r->cfg, &nt, &tenant_id,
	                               &user_id)) {
	case IDENTITY_OK:
		break;
	case IDENTITY_TAKEN:
		return req_fail(r, 409, "conflict",
		                "a tenant with this slug already exists");
	default:
		return -1;
	}
	t = tdb_open(r->db, r->a, tenant_id);
	if (!t ||
	    tdb_query(t, &store_tenant_stmts[TENANT_GET_OWN], DB_NOARGS,
	              &tenant) < 0 ||
	    tdb_query(t, &store_user_stmts[USER_GET], DB_ARGS(DBI(user_id)),
	              &user) < 0 ||
	    tenant.nrows != 1 || user.nrows != 1)
		return -1;
	log_info("tenant registered id=%" PRId64 " slug='%s'", tenant_id,
	         nt.slug);
	d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "tenant", dbres_row_json(&tenant, 0, NULL));
	cJSON_AddItemToObject(d, "user", dbres_row_json(&user, 0, NULL));
	return req_data(r, 201, d);
}

int
tenants_get_own(struct req *r)
{
	struct dbres res;

	if (tdb_query(r->tdb, &store_tenant_stmts[TENANT_GET_OWN], DB_NOARGS,
	              &res) < 0 ||
	    res.nrows != 1)
		return -1;
	return req_data(r, 200, dbres_row_json(&res, 0, NULL));
}

int
tenants_update_own(struct req *r)
{
	const struct stmt_def *T = store_tenant_stmts;
	const struct fval *v = r->vals;
	struct dbres before, after;
	cJSON *old = NULL, *new = NULL;

	if (v[U_TZ].present && !identity_timezone_ok(v[U_TZ].s))
		return req_invalid(
		    r, "timezone",
		    "must be a time zone name such as Asia/Jakarta");
	if (tdb_begin(r->tdb) < 0 ||
	    tdb_query(r->tdb, &T[TENANT_GET_OWN], DB_NOARGS, &before) < 0 ||
	    tdb_query(r->tdb, &T[TENANT_UPDATE_OWN],
	              DB_ARGS(DBS(v[U_NAME].present ? v[U_NAME].s : NULL),
	                      DBS(v[U_TZ].present ? v[U_TZ].s : NULL)),
	              NULL) < 0 ||
	    tdb_query(r->tdb, &T[TENANT_GET_OWN], DB_NOARGS, &after) < 0)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (audit_req(r, "update", "tenant", r->who.tenant_id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}
