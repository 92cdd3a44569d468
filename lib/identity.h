/*
 * The identity operations shared by the API handlers and the command-line
 * tools: creating a tenant with its first admin and seed data, creating
 * users, and opening a session (access + refresh token).
 */
#ifndef RTRW_IDENTITY_H
#define RTRW_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct arena;
struct config;
struct db;
struct tdb;
struct principal;

/* A slug nobody may register: the platform administrators' login name. */
#define IDENTITY_PLATFORM_SLUG "platform"

struct new_tenant {
	const char *slug;
	const char *name;
	const char *timezone; /* NULL: Asia/Jakarta */
	const char *admin_name;
	const char *admin_email; /* folded to lower case */
	const char *admin_password;
	const char *ip; /* for the audit entries */
	const char *user_agent;
};

enum identity_result {
	IDENTITY_OK = 0,
	IDENTITY_TAKEN,  /* slug or email already exists */
	IDENTITY_FAILED, /* database error: see db_last_error() */
};

/*
 * Creates the tenant, its audit chain, its first admin and its seed data
 * in one transaction, audited.  Fills the new ids.
 */
enum identity_result identity_tenant_create(struct db *db, struct arena *a,
                                            const struct config *c,
                                            const struct new_tenant *nt,
                                            int64_t *tenant_id,
                                            int64_t *user_id);

/*
 * Inserts a user (password hashed here, email folded).  Inside the
 * caller's transaction; no audit entry (the caller writes it).
 */
enum identity_result identity_user_insert(struct tdb *t, const struct config *c,
                                          const char *name, const char *email,
                                          const char *password,
                                          const char *role, int64_t *user_id);

/* A new session's tokens. */
struct session {
	char access[AUTH_TOKEN_MAX];
	char refresh[AUTH_REFRESH_HEX + 1];
};

/*
 * Issues an access token for p and stores a new refresh token in family
 * (32 hex digits; NULL starts a new family) with parent_id (0: none).
 * Inside the caller's transaction.  0 or -1.
 */
int identity_session_open(struct tdb *t, const struct config *c,
                          const struct principal *p, const char *family,
                          int64_t parent_id, const char *ip, const char *ua,
                          struct session *s, int64_t *refresh_id);

/* Lower-cases the ASCII letters of an email address in place. */
void identity_fold_email(char *email);

/*
 * Whether tz names a time zone this host knows (a file under
 * /usr/share/zoneinfo, with a plain "Area/City" shape).
 */
int identity_timezone_ok(const char *tz);

#endif
