/*
 * Alerts.  Raising is idempotent: while an alert of the same type and
 * subject is open (or acknowledged), raising it again only touches it.
 */
#include "store/store.h"

/* clang-format off */
const struct stmt_def store_alert_stmts[] = {
	[ALERT_RAISE] = STMT("alert_raise", SCOPE_TENANT, "tsssss",
	     "INSERT INTO alerts (tenant_id, type, subject_type, subject_id,"
	     " message, details) VALUES (?, ?, ?, ?, ?, ?)"
	     " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1"),
	[ALERT__MAX] = STMT_END
};
/* clang-format on */
