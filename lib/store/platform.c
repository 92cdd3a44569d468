#include "store/platform.h"

#include "db.h"

/* clang-format off */
static const struct col admin_cols[] = {
	COL_INT(struct platform_admin, id, 0),
	COL_STR(struct platform_admin, name, 0),
	COL_STR(struct platform_admin, email, 0),
	COL_BOOL(struct platform_admin, active, 0),
	COL_TIME(struct platform_admin, last_login_at, COL_F_NULL),
	COL_TIME(struct platform_admin, created_at, 0),
	COL_END
};
const struct rowtype platform_admin_row =
    ROWTYPE(struct platform_admin, "platform_admin", admin_cols);

static const struct col login_cols[] = {
	COL_INT(struct platform_login, id, 0),
	COL_STR(struct platform_login, name, 0),
	COL_STR(struct platform_login, email, 0),
	COL_BOOL(struct platform_login, active, 0),
	COL_STR(struct platform_login, password_hash, COL_F_HIDDEN),
	COL_END
};
const struct rowtype platform_login_row =
    ROWTYPE(struct platform_login, "platform_login", login_cols);

struct admin_in {
	int64_t id;
	const char *name, *email, *password_hash;
};
static const struct col admin_in_cols[] = {
	COL_INT(struct admin_in, id, 0),
	COL_STR(struct admin_in, name, 0),
	COL_STR(struct admin_in, email, 0),
	COL_STR(struct admin_in, password_hash, COL_F_NULL),
	COL_END
};
static const struct rowtype admin_in =
    ROWTYPE(struct admin_in, "platform_admin_in", admin_in_cols);

enum { S_BY_EMAIL, S_GET, S_INSERT, S_LOGIN_DONE };

const struct stmt_def store_platform_stmts[] = {
	[S_BY_EMAIL] = { "platform_by_email", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM platform_admins WHERE email = :email",
	     &admin_in, &platform_login_row, NULL },
	[S_GET] = { "platform_get", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM platform_admins WHERE id = :id",
	     &db_id_in, &platform_admin_row, NULL },
	[S_INSERT] = { "platform_insert", SCOPE_GLOBAL,
	     "INSERT INTO platform_admins (name, email, password_hash)"
	     " VALUES (:name, :email, :password_hash)", &admin_in, NULL, NULL },
	[S_LOGIN_DONE] = { "platform_login_done", SCOPE_GLOBAL,
	     "UPDATE platform_admins SET last_login_at = UTC_TIMESTAMP(),"
	     " password_hash = COALESCE(:password_hash, password_hash)"
	     " WHERE id = :id", &admin_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_platform_stmts;

int
store_platform_by_email(struct db *db, struct arena *a, const char *email,
                        struct platform_login *out)
{
	struct admin_in in = {.email = email};

	return db_one(db, a, &S[S_BY_EMAIL], &in, out);
}

int
store_platform_get(struct db *db, struct arena *a, int64_t id,
                   struct platform_admin *out)
{
	struct db_id in = {id};

	return db_one(db, a, &S[S_GET], &in, out);
}

int
store_platform_insert(struct db *db, struct arena *a, const char *name,
                      const char *email, const char *password_hash, int64_t *id)
{
	struct admin_in in = {
	    .name = name, .email = email, .password_hash = password_hash};
	struct rows res;

	if (db_exec(db, a, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_platform_login_done(struct db *db, struct arena *a, int64_t id,
                          const char *rehash)
{
	struct admin_in in = {.id = id, .password_hash = rehash};

	return db_exec(db, a, &S[S_LOGIN_DONE], &in, NULL);
}
