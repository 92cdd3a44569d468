/*
 * Refresh tokens, stored only as SHA-256 hashes.
 *
 * token_by_hash is global: a refresh request carries nothing but the
 * token, so the tenant is learnt from the row it finds.  Everything after
 * that runs through the tenant handle opened for that tenant.
 */
#include "store/store.h"

/* clang-format off */
const struct stmt_def store_token_stmts[] = {
	[TOKEN_BY_HASH] = STMT("token_by_hash", SCOPE_GLOBAL, "b",
	     "SELECT id, tenant_id, user_id, HEX(family_id) AS family,"
	     " revoked_at IS NOT NULL AS revoked,"
	     " replaced_by_id IS NOT NULL AS rotated,"
	     " expires_at < UTC_TIMESTAMP() AS expired"
	     " FROM refresh_tokens WHERE token_hash = ? FOR UPDATE"),
	[TOKEN_INSERT] = STMT("token_insert", SCOPE_TENANT, "tisbiiss",
	     "INSERT INTO refresh_tokens (tenant_id, user_id, family_id,"
	     " token_hash, parent_id, expires_at, created_ip, user_agent)"
	     " VALUES (?, ?, UNHEX(?), ?, NULLIF(?, 0),"
	     " UTC_TIMESTAMP() + INTERVAL ? SECOND, ?, LEFT(?, 255))"),
	[TOKEN_ROTATE] = STMT("token_rotate", SCOPE_TENANT, "iti",
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP(),"
	     " replaced_by_id = ? WHERE tenant_id = ? AND id = ?"),
	[TOKEN_REVOKE] = STMT("token_revoke", SCOPE_TENANT, "ti",
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL"),
	[TOKEN_REVOKE_FAMILY] = STMT("token_revoke_family", SCOPE_TENANT, "ts",
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND family_id = UNHEX(?)"
	     " AND revoked_at IS NULL"),
	[TOKEN_REVOKE_USER] = STMT("token_revoke_user", SCOPE_TENANT, "ti",
	     "UPDATE refresh_tokens SET revoked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL"),
	[TOKEN__MAX] = STMT_END
};
/* clang-format on */
