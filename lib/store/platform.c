/*
 * Platform administrators (global: they belong to no tenant).
 */
#include "store/store.h"

/* clang-format off */
const struct stmt_def store_platform_stmts[] = {
	[PLATFORM_BY_EMAIL] = STMT("platform_by_email", SCOPE_GLOBAL, "s",
	     "SELECT id, name, email, active, password_hash"
	     " FROM platform_admins WHERE email = ?"),
	[PLATFORM_GET] = STMT("platform_get", SCOPE_GLOBAL, "i",
	     "SELECT id, name, email, active, last_login_at, created_at"
	     " FROM platform_admins WHERE id = ?"),
	[PLATFORM_INSERT] = STMT("platform_insert", SCOPE_GLOBAL, "sss",
	     "INSERT INTO platform_admins (name, email, password_hash)"
	     " VALUES (?, ?, ?)"),
	[PLATFORM_LOGIN_DONE] = STMT("platform_login_done", SCOPE_GLOBAL, "si",
	     "UPDATE platform_admins SET last_login_at = UTC_TIMESTAMP(),"
	     " password_hash = COALESCE(?, password_hash) WHERE id = ?"),
	[PLATFORM__MAX] = STMT_END
};
/* clang-format on */
