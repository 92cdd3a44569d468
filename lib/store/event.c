/*
 * The events outbox (lib/events.c writes it, the WebSocket daemon
 * lib/wsd.c and the retention job read and prune it).  See lib/events.h
 * for why a writer locks the tenant's audit chain head before it takes an
 * event id.
 */
#include "store/store.h"

/* Placeholders of one batch of ids in an IN list (EVENT_USERS_BATCH). */
#define Q16 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define I16 "iiiiiiiiiiiiiiii"

/* clang-format off */
const struct stmt_def store_event_stmts[] = {
	/*
	 * The tenant's writer lock: the row audit_write() locks too, so
	 * that every transaction of a tenant takes it first and two
	 * writers can never hold it and the event head in opposite order.
	 * in_tx tells event_emit() whether the caller opened a transaction.
	 */
	[EVENT_LOCK] = STMT("event_lock", SCOPE_TENANT, "t",
	     "SELECT @@in_transaction AS in_tx FROM audit_chain"
	     " WHERE tenant_id = ? FOR UPDATE"),
	/* Tenants made before the chain table existed have no head yet. */
	[EVENT_LOCK_CREATE] = STMT("event_lock_create", SCOPE_TENANT, "t",
	     "INSERT IGNORE INTO audit_chain (tenant_id) VALUES (?)"),
	[EVENT_INSERT] = STMT("event_insert", SCOPE_TENANT, "tssis",
	     "INSERT INTO events (tenant_id, name, entity_type, entity_id, data)"
	     " VALUES (?, ?, ?, NULLIF(?, 0), ?)"),
	[EVENT_HEAD_ADVANCE] = STMT("event_head_advance", SCOPE_TENANT, "ti",
	     "INSERT INTO event_heads (tenant_id, last_id) VALUES (?, ?)"
	     " ON DUPLICATE KEY UPDATE last_id = GREATEST(last_id,"
	     " VALUES(last_id))"),
	[EVENT_HEAD] = STMT("event_head", SCOPE_TENANT, "t",
	     "SELECT last_id, pruned_id FROM event_heads WHERE tenant_id = ?"),
	[EVENT_AFTER] = STMT("event_after", SCOPE_TENANT, "ti",
	     "SELECT id, name, data, created_at FROM events"
	     " WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT 200"),
	[EVENT_USERS] = STMT("event_users", SCOPE_TENANT, "t" I16,
	     "SELECT id, role, active FROM users"
	     " WHERE tenant_id = ? AND id IN (" Q16 ")"),
	[EVENT_PRUNE_BOUNDARY] = STMT("event_prune_boundary", SCOPE_TENANT,
	     "ts",
	     "SELECT id FROM events WHERE tenant_id = ? AND created_at < ?"
	     " ORDER BY created_at DESC, id DESC LIMIT 1"),
	[EVENT_PRUNE_MARK] = STMT("event_prune_mark", SCOPE_TENANT, "it",
	     "UPDATE event_heads SET pruned_id = GREATEST(pruned_id, ?)"
	     " WHERE tenant_id = ?"),
	[EVENT_PRUNE_DELETE] = STMT("event_prune_delete", SCOPE_TENANT, "ti",
	     "DELETE FROM events WHERE tenant_id = ? AND id <= ?"
	     " ORDER BY id LIMIT 5000"),
	[EVENT__MAX] = STMT_END
};

/*
 * The daemon's and the retention job's statements across tenants: which
 * of the tenants it serves have news (one query per EVENT_HEADS_BATCH
 * tenants instead of one each), the newest id overall (a resume from a
 * larger one cannot be honoured), and the tenants that have events.
 */
const struct stmt_def store_event_global_stmts[] = {
	[EVENT_G_HEADS] = STMT("event_heads_poll", SCOPE_GLOBAL,
	     I16 I16,
	     "SELECT tenant_id, last_id FROM event_heads"
	     " WHERE tenant_id IN (" Q16 ", " Q16 ")"),
	[EVENT_G_MAX_ID] = STMT("event_max_id", SCOPE_GLOBAL, "",
	     "SELECT COALESCE(MAX(id), 0) AS id FROM events"),
	[EVENT_G_TENANTS] = STMT("event_tenants", SCOPE_GLOBAL, "i",
	     "SELECT tenant_id FROM event_heads WHERE tenant_id > ?"
	     " ORDER BY tenant_id LIMIT 500"),
	[EVENT_G__MAX] = STMT_END
};
/* clang-format on */
