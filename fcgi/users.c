/*
 * Users of the caller's tenant (admins only).  DELETE deactivates: users
 * are never removed, so the audit log keeps meaning.  A deactivated user
 * cannot log in and loses every refresh token at once.  The last active
 * admin can be neither demoted nor deactivated (409).
 */
#include "routes.h"

#include <string.h>

#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "store/store.h"

static const char *const user_roles[] = {"admin", "operator", "technician",
                                         "viewer", NULL};

/* clang-format off */
const struct field user_create_fields[] = {
	{ "name",     FT_STRING,   1, 100, F_REQUIRED | F_TEXT, NULL },
	{ "email",    FT_EMAIL,    0, 0,   F_REQUIRED, NULL },
	{ "password", FT_PASSWORD, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ "role",     FT_ENUM,     0, 0,   F_REQUIRED, user_roles },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { C_NAME, C_EMAIL, C_PASSWORD, C_ROLE };

const struct field user_update_fields[] = {
	{ "name",     FT_STRING,   1, 100, F_TEXT, NULL },
	{ "role",     FT_ENUM,     0, 0,   0, user_roles },
	{ "active",   FT_BOOL,     0, 0,   0, NULL },
	{ "password", FT_PASSWORD, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { P_NAME, P_ROLE, P_ACTIVE, P_PASSWORD };
/* clang-format on */

static const char *const user_sorts[] = {
    "id", "name", "-name", "email", "created_at", "-created_at", NULL,
};

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "user not found");
}

int
users_list(struct req *r)
{
	const struct stmt_def *U = store_user_stmts;
	int64_t page, per_page;
	const char *role;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, user_sorts, &sort) < 0 ||
	    req_param_enum(r, "role", user_roles, &role) < 0)
		return -1;
	if (tdb_query_order(r->tdb, &U[USER_LIST], sort,
	                    DB_ARGS(DBS(role), DBS(role), DBI(per_page),
	                            DBI((page - 1) * per_page)),
	                    &rows) < 0 ||
	    tdb_query(r->tdb, &U[USER_COUNT], DB_ARGS(DBS(role), DBS(role)),
	              &count) < 0)
		return -1;
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
users_get(struct req *r)
{
	return req_get_one(r, &store_user_stmts[USER_GET], NULL,
	                   "user not found");
}

int
users_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct dbres res;
	int64_t id;
	cJSON *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	switch (identity_user_insert(r->tdb, r->cfg, v[C_NAME].s, v[C_EMAIL].s,
	                             v[C_PASSWORD].s, v[C_ROLE].s, &id)) {
	case IDENTITY_OK:
		break;
	case IDENTITY_TAKEN:
		tdb_rollback(r->tdb);
		return req_fail(r, 409, "conflict",
		                "a user with this email already exists");
	default:
		goto out_fail;
	}
	if (tdb_query(r->tdb, &store_user_stmts[USER_GET], DB_ARGS(DBI(id)),
	              &res) < 0 ||
	    res.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&res, 0, NULL));
	if (audit_req(r, "create", "user", id, NULL, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&res, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

/*
 * Applies a change to user r->ids[0]: name, role, active, password (any
 * may be absent).  Shared by PATCH and DELETE (active = 0).
 */
static int
user_change(struct req *r, const char *name, const char *role, int active,
            const char *password, int status_no_body)
{
	const struct stmt_def *U = store_user_stmts;
	int64_t id = r->ids[0];
	struct dbres before, after, admins;
	char hash[AUTH_HASH_MAX];
	int was_admin, stays_admin;
	cJSON *old, *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Lock the admins first, always in the same order as other writers. */
	if (tdb_query(r->tdb, &U[USER_ACTIVE_ADMINS], DB_NOARGS, &admins) < 0 ||
	    tdb_query(r->tdb, &U[USER_GET_LOCKED], DB_ARGS(DBI(id)), &before) <
	        0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	/* Columns: id, name, email, role, active, ... */
	was_admin = strcmp(dbres_get(&before, 0, 3), "admin") == 0 &&
	            strcmp(dbres_get(&before, 0, 4), "1") == 0;
	stays_admin =
	    (role ? strcmp(role, "admin") == 0 : was_admin) &&
	    (active >= 0 ? active == 1
	                 : strcmp(dbres_get(&before, 0, 4), "1") == 0);
	if (was_admin && !stays_admin && admins.nrows <= 1) {
		tdb_rollback(r->tdb);
		return req_fail(r, 409, "conflict",
		                "this is the last active admin of the tenant; "
		                "make another admin first");
	}
	hash[0] = '\0';
	if (password &&
	    auth_password_hash(r->cfg, password, hash, sizeof(hash)) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &U[USER_UPDATE],
	              DB_ARGS(DBS(name), DBS(role), DBS(hash[0] ? hash : NULL),
	                      active >= 0 ? DBI(active) : DBNULL('i'), DBI(id)),
	              NULL) < 0)
		goto out_fail;
	explicit_bzero(hash, sizeof(hash));
	/* Deactivation or a new password ends every session. */
	if ((active == 0 || password) &&
	    tdb_query(r->tdb, &store_token_stmts[TOKEN_REVOKE_USER],
	              DB_ARGS(DBI(id)), NULL) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &U[USER_GET], DB_ARGS(DBI(id)), &after) < 0)
		goto out_fail;
	dispatch_forget_principal(r->who.tenant_id, id);
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (password && new)
		cJSON_AddStringToObject(new, "password", "changed");
	if (audit_req(r, status_no_body ? "delete" : "update", "user", id, old,
	              new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	if (status_no_body)
		return req_no_content(r);
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	explicit_bzero(hash, sizeof(hash));
	tdb_rollback(r->tdb);
	return -1;
}

int
users_update(struct req *r)
{
	const struct fval *v = r->vals;

	return user_change(r, v[P_NAME].present ? v[P_NAME].s : NULL,
	                   v[P_ROLE].present ? v[P_ROLE].s : NULL,
	                   v[P_ACTIVE].present ? (int)v[P_ACTIVE].i : -1,
	                   v[P_PASSWORD].present ? v[P_PASSWORD].s : NULL, 0);
}

int
users_delete(struct req *r)
{
	return user_change(r, NULL, NULL, 0, NULL, 1);
}
