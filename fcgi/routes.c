/*
 * The route table: the only place URL paths appear.  Patterns under
 * routes_api are relative to /api/v1.  Every route here must be in
 * docs/openapi.yaml and the other way round (tests/e2e/test_openapi.py);
 * the role column is the role matrix of API.md.
 */
#include "routes.h"

#include <stddef.h>

#define B  R_BODY
#define BP (R_BODY | R_PARTIAL)

/* clang-format off */
const struct route routes_api[] = {
	/* Tenants and identity. */
	{ HTTP_POST,   "/tenants/register",     ROLE_PUBLIC,   tenants_register,   tenant_register_fields, B,  "Register a tenant and its first admin" },
	{ HTTP_POST,   "/auth/login",           ROLE_PUBLIC,   auth_login,         auth_login_fields,      B,  "Log in" },
	{ HTTP_POST,   "/auth/refresh",         ROLE_PUBLIC,   auth_refresh,       auth_refresh_fields,    B,  "Rotate a refresh token" },
	{ HTTP_POST,   "/auth/logout",          ROLE_PUBLIC,   auth_logout,        auth_refresh_fields,    B,  "Revoke a refresh token" },
	{ HTTP_GET,    "/auth/me",              ROLE_VIEWER,   auth_me,            NULL,                   0,  "The caller, role and tenant" },
	{ HTTP_GET,    "/tenant",               ROLE_VIEWER,   tenants_get_own,    NULL,                   0,  "The caller's tenant" },
	{ HTTP_PATCH,  "/tenant",               ROLE_ADMIN,    tenants_update_own, tenant_update_fields,   BP, "Change tenant settings" },
	{ HTTP_GET,    "/users",                ROLE_ADMIN,    users_list,         NULL,                   0,  "List users" },
	{ HTTP_POST,   "/users",                ROLE_ADMIN,    users_create,       user_create_fields,     B,  "Create a user" },
	{ HTTP_GET,    "/users/:id",            ROLE_ADMIN,    users_get,          NULL,                   0,  "Get a user" },
	{ HTTP_PATCH,  "/users/:id",            ROLE_ADMIN,    users_update,       user_update_fields,     BP, "Change a user" },
	{ HTTP_DELETE, "/users/:id",            ROLE_ADMIN,    users_delete,       NULL,                   0,  "Deactivate a user" },
	{ HTTP_GET,    "/audit-logs",           ROLE_ADMIN,    audit_logs_list,    NULL,                   0,  "List audit entries" },
	{ HTTP_GET,    "/audit-logs/:id",       ROLE_ADMIN,    audit_logs_get,     NULL,                   0,  "Get an audit entry" },

	/* Platform administration. */
	{ HTTP_GET,    "/platform/tenants",     ROLE_PLATFORM, platform_tenants_list,   NULL, 0, "List tenants" },
	{ HTTP_GET,    "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_get,    NULL, 0, "Get a tenant" },
	{ HTTP_DELETE, "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_delete, NULL, 0, "Delete a tenant and all its data" },

	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};

const struct route routes_root[] = {
	{ HTTP_GET, "/health", ROLE_PUBLIC, health_get, NULL, R_NO_RATELIMIT, "Liveness and dependency check" },
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};
/* clang-format on */
