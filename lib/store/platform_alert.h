/*
 * Platform alerts: what goes wrong with the platform itself rather than
 * inside a tenant (a failed backup or verification is nobody's), for
 * platform administrators.  The shape of a tenant's alerts (lib/alerts.h)
 * without the tenant.  One open alert per type: raising it again while
 * it is open counts another occurrence and takes the newest subject,
 * message and details; once it is acknowledged or resolved, the next
 * raise opens a new alert, so a failure after someone looked is news
 * again.  The feature that raises an alert resolves it (backup_failed:
 * the next backup that completes).  Global.
 */
#ifndef RTRW_STORE_PLATFORM_ALERT_H
#define RTRW_STORE_PLATFORM_ALERT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct platform_alert {
	int64_t id;
	const char *type, *status, *subject_type, *subject_id, *message;
	const char *details; /* JSON */
	int64_t occurrences;
	const char *created_at, *updated_at, *acknowledged_at;
	int64_t acknowledged_by; /* a platform administrator */
	const char *resolved_at;
};
extern const struct rowtype platform_alert_row;

/* Types (backup_failed) and statuses, NULL-terminated. */
extern const char *const platform_alert_types[];
extern const char *const platform_alert_statuses[];

/* Filters of GET /platform/alerts (NULL: any). */
struct platform_alert_filter {
	const char *type, *status;
};
/* A global list: read with store_list_fetch_global(). */
extern const struct store_list store_platform_alert_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_platform_alert_get(struct db *db, struct arena *a, int64_t id,
                             struct platform_alert *out);
int store_platform_alert_lock(struct db *db, struct arena *a, int64_t id,
                              struct platform_alert *out);

/*
 * Raises type about (subject_type, subject_id) with message and details
 * (JSON text or NULL): 1 and *id for a new alert, 0 when the open one
 * counted another occurrence (and *id is 0), -1 on error.
 */
int store_platform_alert_raise(struct db *db, struct arena *a, const char *type,
                               const char *subject_type, const char *subject_id,
                               const char *message, const char *details,
                               int64_t *id);

/* Resolves the open or acknowledged alerts of type: the number, or -1. */
int store_platform_alert_resolve(struct db *db, struct arena *a,
                                 const char *type);

/* Acknowledges open alert id for admin_id: 1, 0 (not open), -1. */
int store_platform_alert_acknowledge(struct db *db, struct arena *a, int64_t id,
                                     int64_t admin_id);

#endif
