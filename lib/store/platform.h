/* Platform administrators (global: they belong to no tenant). */
#ifndef RTRW_STORE_PLATFORM_H
#define RTRW_STORE_PLATFORM_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct platform_admin {
	int64_t id;
	const char *name, *email;
	int active;
	const char *last_login_at, *created_at;
};
extern const struct rowtype platform_admin_row;

/* What a login checks. */
struct platform_login {
	int64_t id;
	const char *name, *email;
	int active;
	const char *password_hash;
};
extern const struct rowtype platform_login_row;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_platform_by_email(struct db *db, struct arena *a, const char *email,
                            struct platform_login *out);
int store_platform_get(struct db *db, struct arena *a, int64_t id,
                       struct platform_admin *out);

/* Inserts an administrator; DBE_DUPLICATE for a taken email. */
int store_platform_insert(struct db *db, struct arena *a, const char *name,
                          const char *email, const char *password_hash,
                          int64_t *id);

/* Records a login, and a new hash when rehash is not NULL. */
int store_platform_login_done(struct db *db, struct arena *a, int64_t id,
                              const char *rehash);

#endif
