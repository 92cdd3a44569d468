/*
 * Users of a tenant.  Emails are stored lower-case (the callers fold
 * them) so that uniqueness means the same on MariaDB and PostgreSQL.
 * The password hash is read only by the login (user_login), never by a
 * statement whose rows reach a response.
 */
#ifndef RTRW_STORE_USER_H
#define RTRW_STORE_USER_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct user {
	int64_t id;
	const char *name, *email, *role;
	int active;
	const char *last_login_at, *created_at, *updated_at;
};
extern const struct rowtype user_row;

/*
 * The caller of a request: the users row with its tenant's settings, in
 * one read (the dispatcher re-reads it for every request, or reuses it
 * for auth_cache_ms).
 */
struct user_principal {
	int64_t id;
	const char *name, *email, *role;
	int active;
	const char *last_login_at, *created_at, *updated_at;
	int64_t tenant_id;
	const char *tenant_slug, *tenant_name, *tenant_timezone, *tenant_status;
};
extern const struct rowtype user_principal_row;

/* What a login checks. */
struct user_login {
	int64_t id;
	const char *role;
	int active;
	const char *password_hash;
};

/* Filters of GET /users. */
struct user_filter {
	const char *role;
};
extern const struct store_list store_user_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_user_get(struct tdb *t, int64_t id, struct user *out);
int store_user_lock(struct tdb *t, int64_t id, struct user *out);
int store_user_principal(struct tdb *t, int64_t id, struct user_principal *out);
int store_user_by_email(struct tdb *t, const char *email,
                        struct user_login *out);

/* Inserts a user; DBE_DUPLICATE for a taken email.  0 or -1. */
int store_user_insert(struct tdb *t, const char *name, const char *email,
                      const char *password_hash, const char *role, int64_t *id);

/* What a change sets; NULL (and active < 0) keeps the value. */
struct user_change {
	const char *name, *role, *password_hash;
	int active; /* 1, 0, or -1 to keep */
};
int store_user_update(struct tdb *t, int64_t id, const struct user_change *c);

/* Records a login, and a new hash when rehash is not NULL; 0 or -1. */
int store_user_login_done(struct tdb *t, int64_t id, const char *rehash);

/* Locks the active admins and counts them; 0 or -1. */
int store_user_count_admins(struct tdb *t, int64_t *n);

#endif
