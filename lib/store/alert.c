/*
 * Alerts.  Raising is idempotent: while an alert of the same type and
 * subject is open (or acknowledged), raising it again only touches it.
 * The life of an alert: open -> acknowledged (a person has seen it) ->
 * resolved (the condition is gone; set by the feature that raised it).
 */
#include "store/store.h"

#define ALERT_COLS                                                             \
	"id, type, status, subject_type, subject_id, message, details, "       \
	"occurrences, created_at, updated_at, acknowledged_at, "               \
	"acknowledged_by, resolved_at"
#define ALERT_FILTER                                                           \
	" WHERE tenant_id = ? AND (? IS NULL OR type = ?)"                     \
	" AND (? IS NULL OR status = ?)"

/* The sorts of fcgi/alerts.c, in the same order. */
static const char *const alert_orders[] = {
    "created_at DESC, id DESC",
    "created_at ASC, id ASC",
    "updated_at DESC, id DESC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_alert_stmts[] = {
	[ALERT_RAISE] = STMT("alert_raise", SCOPE_TENANT, "tsssss",
	     "INSERT INTO alerts (tenant_id, type, subject_type, subject_id,"
	     " message, details) VALUES (?, ?, ?, ?, ?, ?)"
	     " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1"),
	[ALERT__MAX] = STMT_END
};

const struct stmt_def store_alert_ops_stmts[] = {
	[ALERT_OP_GET] = STMT("alert_get", SCOPE_TENANT, "ti",
	     "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ? AND id = ?"),
	[ALERT_OP_GET_LOCKED] = STMT("alert_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ? AND id = ?"
	     " FOR UPDATE"),
	[ALERT_OP_LIST] = STMT_ORDERED("alert_list", SCOPE_TENANT, "tssssii",
	     "SELECT " ALERT_COLS " FROM alerts" ALERT_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", alert_orders),
	[ALERT_OP_COUNT] = STMT("alert_count", SCOPE_TENANT, "tssss",
	     "SELECT COUNT(*) FROM alerts" ALERT_FILTER),
	[ALERT_OP_ACK] = STMT("alert_ack", SCOPE_TENANT, "iti",
	     "UPDATE alerts SET status = 'acknowledged',"
	     " acknowledged_at = UTC_TIMESTAMP(), acknowledged_by = NULLIF(?, 0)"
	     " WHERE tenant_id = ? AND id = ? AND status = 'open'"),
	[ALERT_OP_RESOLVE_SUBJECT] = STMT("alert_resolve_subject", SCOPE_TENANT,
	     "tsss",
	     "UPDATE alerts SET status = 'resolved',"
	     " resolved_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND type = ? AND subject_type = ?"
	     " AND subject_id = ? AND status <> 'resolved'"),
	[ALERT_OP_OPEN_ID] = STMT("alert_open_id", SCOPE_TENANT, "tsss",
	     "SELECT id FROM alerts"
	     " WHERE tenant_id = ? AND type = ? AND subject_type = ?"
	     " AND subject_id = ? AND status <> 'resolved'"),
	[ALERT_OP__MAX] = STMT_END
};
/* clang-format on */
