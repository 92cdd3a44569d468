/*
 * Reading the audit log (writing is lib/audit.c).  Every filter is
 * optional: a NULL parameter switches it off.
 */
#include "store/store.h"

#define AUDIT_COLS                                                             \
	"id, user_id, action, entity_type, entity_id, old_values, "            \
	"new_values, ip_address, user_agent, created_at"
#define AUDIT_FILTER                                                           \
	" WHERE tenant_id = ? AND (? IS NULL OR user_id = ?)"                  \
	" AND (? IS NULL OR action = ?) AND (? IS NULL OR entity_type = ?)"    \
	" AND (? IS NULL OR entity_id = ?)"                                    \
	" AND (? IS NULL OR created_at >= ?)"                                  \
	" AND (? IS NULL OR created_at < ? + INTERVAL 1 DAY)"

static const char *const audit_orders[] = {"id DESC", "id ASC", NULL};

/* clang-format off */
const struct stmt_def store_audit_stmts[] = {
	[AUDIT_LIST] = STMT_ORDERED("audit_list", SCOPE_TENANT, "tiissssiissssii",
	     "SELECT " AUDIT_COLS " FROM audit_logs" AUDIT_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", audit_orders),
	[AUDIT_COUNT] = STMT("audit_count", SCOPE_TENANT, "tiissssiissss",
	     "SELECT COUNT(*) FROM audit_logs" AUDIT_FILTER),
	[AUDIT_GET] = STMT("audit_get", SCOPE_TENANT, "ti",
	     "SELECT " AUDIT_COLS " FROM audit_logs"
	     " WHERE tenant_id = ? AND id = ?"),
	[AUDIT_CHAIN_PAGE] = STMT("audit_chain_page", SCOPE_TENANT, "ti",
	     "SELECT id, user_id, action, entity_type, entity_id,"
	     " old_values, new_values, ip_address, user_agent,"
	     " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS at,"
	     " prev_hash, hash FROM audit_logs WHERE tenant_id = ? AND id > ?"
	     " ORDER BY id LIMIT 1000"),
	[AUDIT_ARCHIVE_PAGE] = STMT("audit_archive_page", SCOPE_MAINT, "ii",
	     "SELECT id, tenant_id, user_id, action, entity_type, entity_id,"
	     " old_values, new_values, ip_address, user_agent,"
	     " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS at,"
	     " prev_hash, hash FROM audit_logs"
	     " WHERE created_at < UTC_TIMESTAMP() - INTERVAL ? DAY AND id > ?"
	     " ORDER BY id LIMIT 500"),
	[AUDIT_ARCHIVE_DELETE] = STMT("audit_archive_delete", SCOPE_MAINT,
	     "i", "DELETE FROM audit_logs WHERE id = ?"),
	[AUDIT__MAX] = STMT_END
};
/* clang-format on */
