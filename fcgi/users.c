/*
 * Users of the caller's tenant (admins only).  DELETE deactivates: users
 * are never removed, so the audit log keeps meaning.  A deactivated user
 * cannot log in and loses every refresh token at once.  The last active
 * admin can be neither demoted nor deactivated (409).
 */
#include "routes.h"

#include <string.h>

#include "auth.h"
#include "dispatch.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "reply.h"
#include "store/token.h"
#include "store/user.h"

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
enum { USER_F_NAME, USER_F_EMAIL, USER_F_PASSWORD, USER_F_ROLE };

const struct field user_update_fields[] = {
	{ "name",     FT_STRING,   1, 100, F_TEXT, NULL },
	{ "role",     FT_ENUM,     0, 0,   0, user_roles },
	{ "active",   FT_BOOL,     0, 0,   0, NULL },
	{ "password", FT_PASSWORD, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { USER_U_NAME, USER_U_ROLE, USER_U_ACTIVE, USER_U_PASSWORD };
/* clang-format on */

/* clang-format off */
static const struct filter_def user_filters[] = {
	FILTER_ENUM_(struct user_filter, role, user_roles,
	             "only users with this role"),
	FILTER_END
};
/* clang-format on */

const struct list_spec user_list_spec = {
    .store = &store_user_list,
    .filters = user_filters,
};

int
users_list(struct req *r)
{
	return reply_list(r, &user_list_spec);
}

int
users_get(struct req *r)
{
	struct user u;

	if (req_found(r, store_user_get(r->tdb, r->ids[0], &u), "user") < 0)
		return -1;
	return reply_row(r, 200, &user_row, &u);
}

int
users_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct user after;
	int64_t id;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	switch (identity_user_insert(r->tdb, r->cfg, v[USER_F_NAME].s,
	                             v[USER_F_EMAIL].s, v[USER_F_PASSWORD].s,
	                             v[USER_F_ROLE].s, &id)) {
	case IDENTITY_OK:
		break;
	case IDENTITY_TAKEN:
		return req_fail(r, 409, "conflict",
		                "a user with this email already exists");
	default:
		return -1;
	}
	if (store_user_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "user", id, &user_row, NULL, &after, NULL) <
	        0)
		return -1;
	return reply_commit(r, 201, &user_row, &after);
}

/*
 * Applies a change to user r->ids[0]: name, role, active, password (any
 * may be absent: NULL, active -1).  Shared by PATCH and DELETE (active
 * 0).  The password hash is wiped whatever happens.
 */
static int
user_change(struct req *r, struct user_change *c, const char *password,
            int is_delete)
{
	int64_t id = r->ids[0], admins;
	struct user before, after;
	char hash[AUTH_HASH_MAX];
	int was_admin, stays_admin, rc = -1;
	cJSON *old, *new;

	hash[0] = '\0';
	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Lock the admins first, always in the same order as other writers. */
	if (store_user_count_admins(r->tdb, &admins) < 0 ||
	    req_found(r, store_user_lock(r->tdb, id, &before), "user") < 0)
		return -1;
	was_admin = strcmp(before.role, "admin") == 0 && before.active;
	stays_admin = (c->role ? strcmp(c->role, "admin") == 0 : was_admin) &&
	              (c->active >= 0 ? c->active == 1 : before.active);
	if (was_admin && !stays_admin && admins <= 1)
		return req_fail(r, 409, "conflict",
		                "this is the last active admin of the tenant; "
		                "make another admin first");
	if (password &&
	    auth_password_hash(r->cfg, password, hash, sizeof(hash)) < 0)
		goto out_wipe;
	c->password_hash = password ? hash : NULL;
	if (store_user_update(r->tdb, id, c) < 0)
		goto out_wipe;
	/* Deactivation or a new password ends every session. */
	if ((c->active == 0 || password) &&
	    store_token_revoke_user(r->tdb, id) < 0)
		goto out_wipe;
	if (store_user_get(r->tdb, id, &after) != 1)
		goto out_wipe;
	dispatch_forget_principal(r->who.tenant_id, id);
	old = json_own(r->a, row_json(&user_row, &before));
	new = json_own(r->a, row_json(&user_row, &after));
	if (!old || !new)
		goto out_wipe;
	if (password)
		cJSON_AddStringToObject(new, "password", "changed");
	if (req_audit(r, is_delete ? "delete" : "update", "user", id, old,
	              new) < 0)
		goto out_wipe;
	rc = reply_commit(r, 200, &user_row, is_delete ? NULL : &after);
out_wipe:
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int
users_update(struct req *r)
{
	const struct fval *v = r->vals;
	struct user_change c = {
	    .name = fval_str(&v[USER_U_NAME]),
	    .role = fval_str(&v[USER_U_ROLE]),
	    .active = v[USER_U_ACTIVE].present ? (int)v[USER_U_ACTIVE].i : -1,
	};

	return user_change(r, &c, fval_str(&v[USER_U_PASSWORD]), 0);
}

int
users_delete(struct req *r)
{
	struct user_change c = {.active = 0};

	return user_change(r, &c, NULL, 1);
}
