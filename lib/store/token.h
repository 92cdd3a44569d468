/*
 * Refresh tokens, stored only as SHA-256 hashes.  The look-up by hash is
 * global: a refresh request carries nothing but the token, so the tenant
 * is learnt from the row it finds, and everything after that runs
 * through the handle opened for that tenant.
 */
#ifndef RTRW_STORE_TOKEN_H
#define RTRW_STORE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "tdb.h"

struct refresh_token {
	int64_t id, tenant_id, user_id;
	const char *family; /* 32 hex digits */
	int revoked, rotated, expired;
};

/* Reads and locks the token with this hash: 1, 0 or -1. */
int store_token_by_hash(struct db *db, struct arena *a,
                        const unsigned char hash[32],
                        struct refresh_token *out);

/* What a new token row holds. */
struct token_new {
	int64_t user_id;
	const char *family; /* 32 hex digits */
	const unsigned char *hash;
	int64_t parent_id; /* 0: none */
	int64_t ttl_seconds;
	const char *ip, *user_agent;
};
int store_token_insert(struct tdb *t, const struct token_new *n, int64_t *id);

/* Marks token id replaced by new_id; 0 or -1. */
int store_token_rotate(struct tdb *t, int64_t id, int64_t new_id);

/* Revokes one token: 1 revoked, 0 already revoked, -1 error. */
int store_token_revoke(struct tdb *t, int64_t id);

/* Revokes every token of a family, or of a user; 0 or -1. */
int store_token_revoke_family(struct tdb *t, const char *family);
int store_token_revoke_user(struct tdb *t, int64_t user_id);

#endif
