/*
 * Tenant registration (public) and the tenant's own settings.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "ratelimit.h"
#include "log.h"
#include "reply.h"
#include "store/tenant.h"
#include "store/user.h"

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
enum {
	TENANT_R_NAME,
	TENANT_R_SLUG,
	TENANT_R_ADMIN_NAME,
	TENANT_R_ADMIN_EMAIL,
	TENANT_R_ADMIN_PASSWORD,
	TENANT_R_TIMEZONE,
};

const struct field tenant_update_fields[] = {
	{ "name",     FT_STRING, 1, 200, F_TEXT, NULL },
	{ "timezone", FT_STRING, 1, 64,  0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { TENANT_U_NAME, TENANT_U_TIMEZONE };
/* clang-format on */

int
tenants_register(struct req *r)
{
	struct new_tenant nt;
	struct ratelimit_result l;
	struct tenant tenant;
	struct user user;
	int64_t tenant_id, user_id;
	char subject[96];
	cJSON *d;
	struct tdb *t;

	/* Registration has its own, much stricter, per-IP limit. */
	snprintf(subject, sizeof(subject), "reg:%s",
	         r->remote_addr ? r->remote_addr : "-");
	ratelimit_hit(r->cache, subject, r->cfg->register_limit_per_hour, 3600,
	              time(NULL), &l);
	if (l.limited) {
		char v[24];

		snprintf(v, sizeof(v), "%" PRId64, l.retry_after);
		req_header(r, "Retry-After", v);
		return req_fail(r, 429, "rate_limited",
		                "too many registrations from this address; "
		                "try again later");
	}
	if (strcmp(r->vals[TENANT_R_SLUG].s, IDENTITY_PLATFORM_SLUG) == 0) {
		return req_invalid(r, "tenant_slug", "is reserved");
	}
	if (r->vals[TENANT_R_TIMEZONE].present &&
	    !identity_timezone_ok(r->vals[TENANT_R_TIMEZONE].s))
		return req_invalid(
		    r, "timezone",
		    "must be a time zone name such as Asia/Jakarta");
	memset(&nt, 0, sizeof(nt));
	nt.slug = r->vals[TENANT_R_SLUG].s;
	nt.name = r->vals[TENANT_R_NAME].s;
	nt.timezone = r->vals[TENANT_R_TIMEZONE].present
	                  ? r->vals[TENANT_R_TIMEZONE].s
	                  : NULL;
	nt.admin_name = r->vals[TENANT_R_ADMIN_NAME].s;
	nt.admin_email = r->vals[TENANT_R_ADMIN_EMAIL].s;
	nt.admin_password = r->vals[TENANT_R_ADMIN_PASSWORD].s;
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
	if (!t || store_tenant_get_own(t, &tenant) != 1 ||
	    store_user_get(t, user_id, &user) != 1)
		return -1;
	log_info("tenant registered id=%" PRId64 " slug='%s'", tenant_id,
	         nt.slug);
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	cJSON_AddItemToObject(d, "tenant", row_json(&tenant_row, &tenant));
	cJSON_AddItemToObject(d, "user", row_json(&user_row, &user));
	return req_data(r, 201, d);
}

int
tenants_get_own(struct req *r)
{
	struct tenant t;

	if (req_found(r, store_tenant_get_own(r->tdb, &t), "tenant") < 0)
		return -1;
	return reply_row(r, 200, &tenant_row, &t);
}

int
tenants_update_own(struct req *r)
{
	const struct fval *v = r->vals;
	struct tenant before, after;

	if (v[TENANT_U_TIMEZONE].present &&
	    !identity_timezone_ok(v[TENANT_U_TIMEZONE].s))
		return req_invalid(
		    r, "timezone",
		    "must be a time zone name such as Asia/Jakarta");
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_tenant_get_own(r->tdb, &before), "tenant") < 0 ||
	    store_tenant_update_own(r->tdb, fval_str(&v[TENANT_U_NAME]),
	                            fval_str(&v[TENANT_U_TIMEZONE])) < 0 ||
	    store_tenant_get_own(r->tdb, &after) != 1 ||
	    req_record(r, "update", "tenant", r->who.tenant_id, &tenant_row,
	               &before, &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &tenant_row, &after);
}
