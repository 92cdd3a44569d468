#include "store/user.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col user_cols[] = {
	COL_INT(struct user, id, 0),
	COL_STR(struct user, name, 0),
	COL_STR(struct user, email, 0),
	COL_STR(struct user, role, 0),
	COL_BOOL(struct user, active, 0),
	COL_TIME(struct user, last_login_at, COL_F_NULL),
	COL_TIME(struct user, created_at, 0),
	COL_TIME(struct user, updated_at, 0),
	COL_END
};
const struct rowtype user_row = ROWTYPE(struct user, "user", user_cols);

static const struct col user_principal_cols[] = {
	COL_INT(struct user_principal, id, 0),
	COL_STR(struct user_principal, name, 0),
	COL_STR(struct user_principal, email, 0),
	COL_STR(struct user_principal, role, 0),
	COL_BOOL(struct user_principal, active, 0),
	COL_TIME(struct user_principal, last_login_at, COL_F_NULL),
	COL_TIME(struct user_principal, created_at, 0),
	COL_TIME(struct user_principal, updated_at, 0),
	COL_INT(struct user_principal, tenant_id, 0),
	COL_STR(struct user_principal, tenant_slug, 0),
	COL_STR(struct user_principal, tenant_name, 0),
	COL_STR(struct user_principal, tenant_timezone, 0),
	COL_STR(struct user_principal, tenant_status, 0),
	COL_END
};
const struct rowtype user_principal_row =
    ROWTYPE(struct user_principal, "user_principal", user_principal_cols);

static const struct col user_login_cols[] = {
	COL_INT(struct user_login, id, 0),
	COL_STR(struct user_login, role, 0),
	COL_BOOL(struct user_login, active, 0),
	COL_STR(struct user_login, password_hash, 0),
	COL_END
};
static const struct rowtype user_login_row =
    ROWTYPE(struct user_login, "user_login", user_login_cols);

/* The values a statement binds. */
struct user_in {
	int64_t id;
	const char *name, *email, *role, *password_hash;
	int active; /* -1: NULL */
};
static const struct col user_in_cols[] = {
	COL_INT(struct user_in, id, 0),
	COL_STR(struct user_in, name, COL_F_NULL),
	COL_STR(struct user_in, email, COL_F_NULL),
	COL_STR(struct user_in, role, COL_F_NULL),
	COL_STR(struct user_in, password_hash, COL_F_NULL),
	COL_BOOL(struct user_in, active, COL_F_NULL),
	COL_END
};
static const struct rowtype user_in =
    ROWTYPE(struct user_in, "user_in", user_in_cols);

static const struct col user_filter_cols[] = {
	COL_STR(struct user_filter, role, COL_F_NULL),
	COL_END
};
static const struct rowtype user_filter_in =
    ROWTYPE(struct user_filter, "user_filter", user_filter_cols);

static const struct sort_def user_sorts[] = {
	{ "id", "id ASC" },
	{ "name", "name ASC, id ASC" },
	{ "-name", "name DESC, id DESC" },
	{ "email", "email ASC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ NULL, NULL }
};

enum {
	S_GET, S_LOCK, S_PRINCIPAL, S_BY_EMAIL, S_LIST, S_COUNT, S_INSERT,
	S_UPDATE, S_LOGIN_DONE, S_ADMINS,
};

#define USER_FILTER " WHERE tenant_id = :tenant AND (:role IS NULL OR role = :role)"

const struct stmt_def store_user_stmts[] = {
	[S_GET] = { "user_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM users WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &user_row, NULL },
	[S_LOCK] = { "user_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM users WHERE tenant_id = :tenant AND id = :id"
	     " FOR UPDATE", &db_id_in, &user_row, NULL },
	[S_PRINCIPAL] = { "user_principal", SCOPE_TENANT,
	     "SELECT u.id, u.name, u.email, u.role, u.active, u.last_login_at,"
	     " u.created_at, u.updated_at, t.id AS tenant_id,"
	     " t.slug AS tenant_slug, t.name AS tenant_name,"
	     " t.timezone AS tenant_timezone, t.status AS tenant_status"
	     " FROM users u JOIN tenants t ON t.id = u.tenant_id"
	     " WHERE u.tenant_id = :tenant AND u.id = :id",
	     &db_id_in, &user_principal_row, NULL },
	[S_BY_EMAIL] = { "user_by_email", SCOPE_TENANT,
	     "SELECT id, role, active, password_hash FROM users"
	     " WHERE tenant_id = :tenant AND email = :email",
	     &user_in, &user_login_row, NULL },
	[S_LIST] = { "user_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM users" USER_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &user_filter_in, &user_row, user_sorts },
	[S_COUNT] = { "user_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM users" USER_FILTER,
	     &user_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "user_insert", SCOPE_TENANT,
	     "INSERT INTO users (tenant_id, name, email, password_hash, role)"
	     " VALUES (:tenant, :name, :email, :password_hash, :role)",
	     &user_in, NULL, NULL },
	[S_UPDATE] = { "user_update", SCOPE_TENANT,
	     "UPDATE users SET name = COALESCE(:name, name),"
	     " role = COALESCE(:role, role),"
	     " password_hash = COALESCE(:password_hash, password_hash),"
	     " active = COALESCE(:active, active)"
	     " WHERE tenant_id = :tenant AND id = :id", &user_in, NULL, NULL },
	[S_LOGIN_DONE] = { "user_login_done", SCOPE_TENANT,
	     "UPDATE users SET last_login_at = UTC_TIMESTAMP(),"
	     " password_hash = COALESCE(:password_hash, password_hash)"
	     " WHERE tenant_id = :tenant AND id = :id", &user_in, NULL, NULL },
	[S_ADMINS] = { "user_active_admins", SCOPE_TENANT,
	     "SELECT id FROM users WHERE tenant_id = :tenant AND role = 'admin'"
	     " AND active = 1 FOR UPDATE", NULL, &db_id_in, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_user_stmts;

const struct store_list store_user_list = {
    .row = &user_row,
    .filter_size = sizeof(struct user_filter),
    .sorts = user_sorts,
    .page = &store_user_stmts[S_LIST],
    .count = &store_user_stmts[S_COUNT],
};

int
store_user_get(struct tdb *t, int64_t id, struct user *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_user_lock(struct tdb *t, int64_t id, struct user *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_user_principal(struct tdb *t, int64_t id, struct user_principal *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_PRINCIPAL], &in, out);
}

int
store_user_by_email(struct tdb *t, const char *email, struct user_login *out)
{
	struct user_in in = {.email = email, .active = -1};

	return tdb_one(t, &S[S_BY_EMAIL], &in, out);
}

int
store_user_insert(struct tdb *t, const char *name, const char *email,
                  const char *password_hash, const char *role, int64_t *id)
{
	struct user_in in = {.name = name,
	                     .email = email,
	                     .password_hash = password_hash,
	                     .role = role,
	                     .active = -1};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_user_update(struct tdb *t, int64_t id, const struct user_change *c)
{
	struct user_in in = {.id = id,
	                     .name = c->name,
	                     .role = c->role,
	                     .password_hash = c->password_hash,
	                     .active = c->active};

	return tdb_exec(t, &S[S_UPDATE], &in, NULL);
}

int
store_user_login_done(struct tdb *t, int64_t id, const char *rehash)
{
	struct user_in in = {.id = id, .password_hash = rehash, .active = -1};

	return tdb_exec(t, &S[S_LOGIN_DONE], &in, NULL);
}

int
store_user_count_admins(struct tdb *t, int64_t *n)
{
	struct rows rs;

	if (tdb_exec(t, &S[S_ADMINS], NULL, &rs) < 0)
		return -1;
	*n = (int64_t)rs.n;
	return 0;
}
