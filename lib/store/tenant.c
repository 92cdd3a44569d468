/*
 * Tenants.  Registration and look-up by slug are global (nobody is
 * logged in yet); a tenant reading or changing its own row goes through
 * its handle with "tenants.id = ?", the tenants table's tenant column.
 */
#include "store/store.h"

#define TENANT_COLS "id, slug, name, timezone, status, created_at, updated_at"

/* clang-format off */
const struct stmt_def store_tenant_stmts[] = {
	[TENANT_BY_SLUG] = STMT("tenant_by_slug", SCOPE_GLOBAL, "s",
	     "SELECT " TENANT_COLS " FROM tenants WHERE slug = ?"),
	[TENANT_INSERT] = STMT("tenant_insert", SCOPE_GLOBAL, "sss",
	     "INSERT INTO tenants (slug, name, timezone) VALUES (?, ?, ?)"),
	[TENANT_CHAIN_INSERT] = STMT("tenant_chain_insert", SCOPE_TENANT, "t",
	     "INSERT INTO audit_chain (tenant_id) VALUES (?)"),
	[TENANT_GET_OWN] = STMT("tenant_get_own", SCOPE_TENANT, "t",
	     "SELECT " TENANT_COLS " FROM tenants WHERE tenants.id = ?"),
	[TENANT_UPDATE_OWN] = STMT("tenant_update_own", SCOPE_TENANT, "sst",
	     "UPDATE tenants SET name = COALESCE(?, name),"
	     " timezone = COALESCE(?, timezone) WHERE tenants.id = ?"),
	[TENANT_GET] = STMT("tenant_get", SCOPE_GLOBAL, "i",
	     "SELECT " TENANT_COLS ", (SELECT COUNT(*) FROM users u"
	     " WHERE u.tenant_id = tenants.id) AS users"
	     " FROM tenants WHERE id = ?"),
	[TENANT_LIST] = STMT("tenant_list", SCOPE_GLOBAL, "ii",
	     "SELECT " TENANT_COLS ", (SELECT COUNT(*) FROM users u"
	     " WHERE u.tenant_id = tenants.id) AS users"
	     " FROM tenants ORDER BY id LIMIT ? OFFSET ?"),
	[TENANT_COUNT] = STMT("tenant_count", SCOPE_GLOBAL, "",
	     "SELECT COUNT(*) FROM tenants"),
	[TENANT_DELETE] = STMT("tenant_delete", SCOPE_GLOBAL, "i",
	     "DELETE FROM tenants WHERE id = ?"),
	[TENANT__MAX] = STMT_END
};
/* clang-format on */
