/*
 * The typed, tenant-scoped data access of each resource.  Every module
 * lib/store/<res>.c keeps its SQL in a table of struct stmt_def indexed
 * by the enum below and lists it in lib/store/registry.c, so that the
 * start-up check sees all of it.  Handlers run them with
 * tdb_query(r->tdb, &store_user_stmts[USER_GET], ...).
 */
#ifndef RTRW_STORE_H
#define RTRW_STORE_H

#include "db.h"

/* Every statement table, NULL-terminated (lib/store/registry.c). */
extern const struct stmt_def *const store_tables[];

/* lib/store/health.c: the global statements of GET /health. */
extern const struct stmt_def store_health_stmts[];

/* lib/store/tenant.c */
enum {
	TENANT_BY_SLUG,
	TENANT_INSERT,
	TENANT_CHAIN_INSERT,
	TENANT_GET_OWN,
	TENANT_UPDATE_OWN,
	TENANT_GET,
	TENANT_LIST,
	TENANT_COUNT,
	TENANT_DELETE,
	TENANT__MAX
};
extern const struct stmt_def store_tenant_stmts[];

/* lib/store/user.c */
enum {
	USER_GET,
	USER_GET_LOCKED,
	USER_PRINCIPAL,
	USER_BY_EMAIL,
	USER_LIST,
	USER_COUNT,
	USER_INSERT,
	USER_UPDATE,
	USER_LOGIN_DONE,
	USER_ACTIVE_ADMINS,
	USER__MAX
};
extern const struct stmt_def store_user_stmts[];

/* lib/store/token.c */
enum {
	TOKEN_BY_HASH,
	TOKEN_INSERT,
	TOKEN_ROTATE,
	TOKEN_REVOKE,
	TOKEN_REVOKE_FAMILY,
	TOKEN_REVOKE_USER,
	TOKEN__MAX
};
extern const struct stmt_def store_token_stmts[];

/* lib/store/platform.c */
enum {
	PLATFORM_BY_EMAIL,
	PLATFORM_GET,
	PLATFORM_INSERT,
	PLATFORM_LOGIN_DONE,
	PLATFORM__MAX
};
extern const struct stmt_def store_platform_stmts[];

/* lib/store/alert.c */
enum { ALERT_RAISE, ALERT__MAX };
extern const struct stmt_def store_alert_stmts[];

/* lib/store/audit.c */
enum {
	AUDIT_LIST,
	AUDIT_COUNT,
	AUDIT_GET,
	AUDIT_CHAIN_PAGE,
	AUDIT_ARCHIVE_PAGE,
	AUDIT_ARCHIVE_DELETE,
	AUDIT__MAX
};
extern const struct stmt_def store_audit_stmts[];

#endif
