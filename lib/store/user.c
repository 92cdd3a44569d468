/*
 * Users of a tenant.  Emails are stored lower-case (the handlers fold
 * them) so that uniqueness means the same on MariaDB and PostgreSQL.
 */
#include "store/store.h"

#define USER_COLS                                                              \
	"id, name, email, role, active, last_login_at, created_at, "           \
	"updated_at"

static const char *const user_orders[] = {
    "id ASC",    "name ASC, id ASC",       "name DESC, id DESC",
    "email ASC", "created_at ASC, id ASC", "created_at DESC, id DESC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_user_stmts[] = {
	[USER_GET] = STMT("user_get", SCOPE_TENANT, "ti",
	     "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND id = ?"),
	[USER_GET_LOCKED] = STMT("user_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND id = ?"
	     " FOR UPDATE"),
	[USER_PRINCIPAL] = STMT("user_principal", SCOPE_TENANT, "ti",
	     "SELECT u.id, u.name, u.email, u.role, u.active, u.last_login_at,"
	     " u.created_at, u.updated_at, t.id AS tenant_id,"
	     " t.slug AS tenant_slug, t.name AS tenant_name,"
	     " t.timezone AS tenant_timezone, t.status AS tenant_status"
	     " FROM users u JOIN tenants t ON t.id = u.tenant_id"
	     " WHERE u.tenant_id = ? AND u.id = ?"),
	[USER_BY_EMAIL] = STMT("user_by_email", SCOPE_TENANT, "ts",
	     "SELECT id, name, email, role, active, password_hash"
	     " FROM users WHERE tenant_id = ? AND email = ?"),
	[USER_LIST] = STMT_ORDERED("user_list", SCOPE_TENANT, "tssii",
	     "SELECT " USER_COLS " FROM users WHERE tenant_id = ?"
	     " AND (? IS NULL OR role = ?)"
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", user_orders),
	[USER_COUNT] = STMT("user_count", SCOPE_TENANT, "tss",
	     "SELECT COUNT(*) FROM users WHERE tenant_id = ?"
	     " AND (? IS NULL OR role = ?)"),
	[USER_INSERT] = STMT("user_insert", SCOPE_TENANT, "tssss",
	     "INSERT INTO users (tenant_id, name, email, password_hash, role)"
	     " VALUES (?, ?, ?, ?, ?)"),
	[USER_UPDATE] = STMT("user_update", SCOPE_TENANT, "sssiit",
	     "UPDATE users SET name = COALESCE(?, name),"
	     " role = COALESCE(?, role),"
	     " password_hash = COALESCE(?, password_hash),"
	     " active = COALESCE(?, active)"
	     " WHERE id = ? AND tenant_id = ?"),
	[USER_LOGIN_DONE] = STMT("user_login_done", SCOPE_TENANT, "sit",
	     "UPDATE users SET last_login_at = UTC_TIMESTAMP(),"
	     " password_hash = COALESCE(?, password_hash)"
	     " WHERE id = ? AND tenant_id = ?"),
	[USER_ACTIVE_ADMINS] = STMT("user_active_admins", SCOPE_TENANT, "t",
	     "SELECT id FROM users WHERE tenant_id = ? AND role = 'admin'"
	     " AND active = 1 FOR UPDATE"),
	[USER__MAX] = STMT_END
};
/* clang-format on */
