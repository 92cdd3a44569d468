#include "store/token.h"

#include "db.h"

/* clang-format off */
static const struct col token_cols[] = {
	COL_INT(struct refresh_token, id, 0),
	COL_INT(struct refresh_token, tenant_id, 0),
	COL_INT(struct refresh_token, user_id, 0),
	COL_STR(struct refresh_token, family, 0),
	COL_BOOL(struct refresh_token, revoked, 0),
	COL_BOOL(struct refresh_token, rotated, 0),
	COL_BOOL(struct refresh_token, expired, 0),
	COL_END
};
static const struct rowtype token_row =
    ROWTYPE(struct refresh_token, "refresh_token", token_cols);

struct token_in {
	int64_t id, user_id, parent_id, ttl_seconds, new_id;
	const char *family, *ip, *user_agent;
	struct bytes hash;
};
static const struct col token_in_cols[] = {
	COL_INT(struct token_in, id, 0),
	COL_INT(struct token_in, user_id, 0),
	COL_INT(struct token_in, parent_id, COL_F_NULL),
	COL_INT(struct token_in, ttl_seconds, 0),
	COL_INT(struct token_in, new_id, 0),
	COL_STR(struct token_in, family, COL_F_NULL),
	COL_STR(struct token_in, ip, COL_F_NULL),
	COL_STR(struct token_in, user_agent, COL_F_NULL),
	COL_BYTES(struct token_in, hash, 0),
	COL_END
};
static const struct rowtype token_in =
    ROWTYPE(struct token_in, "token_in", token_in_cols);

enum { S_BY_HASH, S_INSERT, S_ROTATE, S_REVOKE, S_FAMILY, S_USER };

const struct stmt_def store_token_stmts[] = {
	[S_BY_HASH] = { "token_by_hash", SCOPE_GLOBAL,
	     "SELECT id, tenant_id, user_id, HEX(family_id) AS family,"
	     " revoked_at IS NOT NULL AS revoked,"
	     " replaced_by_id IS NOT NULL AS rotated,"
	     " expires_at < UTC_TIMESTAMP() AS expired"
	     " FROM refresh_tokens WHERE token_hash = :hash FOR UPDATE",
	     &token_in, &token_row, NULL },
	[S_INSERT] = { "token_insert", SCOPE_TENANT,
	     "INSERT INTO refresh_tokens (tenant_id, user_id, family_id,"
	     " token_hash, parent_id, expires_at, created_ip, user_agent)"
	     " VALUES (:tenant, :user_id, UNHEX(:family), :hash, :parent_id,"
	     " UTC_TIMESTAMP() + INTERVAL :ttl_seconds SECOND, :ip,"
	     " LEFT(:user_agent, 255))", &token_in, NULL, NULL },
	[S_ROTATE] = { "token_rotate", SCOPE_TENANT,
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP(),"
	     " replaced_by_id = :new_id WHERE tenant_id = :tenant AND id = :id",
	     &token_in, NULL, NULL },
	[S_REVOKE] = { "token_revoke", SCOPE_TENANT,
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND id = :id AND revoked_at IS NULL",
	     &token_in, NULL, NULL },
	[S_FAMILY] = { "token_revoke_family", SCOPE_TENANT,
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND family_id = UNHEX(:family)"
	     " AND revoked_at IS NULL", &token_in, NULL, NULL },
	[S_USER] = { "token_revoke_user", SCOPE_TENANT,
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND user_id = :user_id"
	     " AND revoked_at IS NULL", &token_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_token_stmts;

int
store_token_by_hash(struct db *db, struct arena *a,
                    const unsigned char hash[32], struct refresh_token *out)
{
	struct token_in in = {.hash = {hash, 32}};

	return db_one(db, a, &S[S_BY_HASH], &in, out);
}

int
store_token_insert(struct tdb *t, const struct token_new *n, int64_t *id)
{
	struct token_in in = {.user_id = n->user_id,
	                      .family = n->family,
	                      .hash = {n->hash, 32},
	                      .parent_id = n->parent_id,
	                      .ttl_seconds = n->ttl_seconds,
	                      .ip = n->ip,
	                      .user_agent = n->user_agent};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	if (id)
		*id = (int64_t)res.insert_id;
	return 0;
}

int
store_token_rotate(struct tdb *t, int64_t id, int64_t new_id)
{
	struct token_in in = {.id = id, .new_id = new_id};

	return tdb_exec(t, &S[S_ROTATE], &in, NULL);
}

int
store_token_revoke(struct tdb *t, int64_t id)
{
	struct token_in in = {.id = id};
	struct rows res;

	if (tdb_exec(t, &S[S_REVOKE], &in, &res) < 0)
		return -1;
	return res.affected == 1;
}

int
store_token_revoke_family(struct tdb *t, const char *family)
{
	struct token_in in = {.family = family};

	return tdb_exec(t, &S[S_FAMILY], &in, NULL);
}

int
store_token_revoke_user(struct tdb *t, int64_t user_id)
{
	struct token_in in = {.user_id = user_id};

	return tdb_exec(t, &S[S_USER], &in, NULL);
}
