/*
 * The handlers of every resource and the two route tables.  Each
 * fcgi/<res>.c exports <res>_*() handlers and its field tables only.
 */
#ifndef RTRW_ROUTES_H
#define RTRW_ROUTES_H

#include "fields.h"
#include "router.h"

/* Routes under /api/v1 and routes from the root (/health). */
extern const struct route routes_api[];
extern const struct route routes_root[];

/* fcgi/health.c */
int health_get(struct req *r);

/* fcgi/auth.c */
extern const struct field auth_login_fields[];
extern const struct field auth_refresh_fields[];
int auth_login(struct req *r);
int auth_refresh(struct req *r);
int auth_logout(struct req *r);
int auth_me(struct req *r);

/* fcgi/tenants.c */
extern const struct field tenant_register_fields[];
extern const struct field tenant_update_fields[];
int tenants_register(struct req *r);
int tenants_get_own(struct req *r);
int tenants_update_own(struct req *r);

/* fcgi/users.c */
extern const struct field user_create_fields[];
extern const struct field user_update_fields[];
int users_list(struct req *r);
int users_get(struct req *r);
int users_create(struct req *r);
int users_update(struct req *r);
int users_delete(struct req *r);

/* fcgi/platform.c */
int platform_tenants_list(struct req *r);
int platform_tenants_get(struct req *r);
int platform_tenants_delete(struct req *r);

/* fcgi/audit_logs.c */
int audit_logs_list(struct req *r);
int audit_logs_get(struct req *r);

#endif
