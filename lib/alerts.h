/*
 * Alerts that features raise (low stock, device offline, blocked logins)
 * and people acknowledge.  One open alert per (type, subject): raising it
 * again does not duplicate it, it counts another occurrence.  The feature
 * that raised an alert resolves it when the condition is gone (stock
 * refilled, device back online); a resolved alert stays as history, and
 * the next raise opens a new one.
 *
 * Types: high_usage, device_offline, router_offline, low_stock,
 * provisioning_failed, backup_failed (API.md), ip_blocked,
 * account_locked (identity), and email_failed (the mailer gave up on a
 * notification: one open alert per template key).  Statuses: open,
 * acknowledged, resolved.
 */
#ifndef RTRW_ALERTS_H
#define RTRW_ALERTS_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct tdb;

/* The alert types and statuses above, NULL-terminated. */
extern const char *const alert_types[];
extern const char *const alert_statuses[];

/*
 * Raises an alert of type about (subject_type, subject_id) with a
 * message and optional details, in the caller's transaction.  A new
 * alert also writes an alert:created event.  Returns 1 when a new alert
 * was created, 0 when an open one already existed, -1 on error.
 */
int alert_raise(struct tdb *t, const char *type, const char *subject_type,
                const char *subject_id, const char *message,
                const cJSON *details);

/*
 * Resolves the open or acknowledged alert of type about (subject_type,
 * subject_id), if there is one, in the caller's transaction.  Returns 1
 * when one was resolved, 0 when none was open, -1 on error.
 */
int alert_resolve(struct tdb *t, const char *type, const char *subject_type,
                  const char *subject_id);

/*
 * Acknowledges open alert id on behalf of user_id.  Returns 1 when it
 * changed, 0 when the alert is not open (absent, already acknowledged or
 * resolved: the caller looks), -1 on error.
 */
int alert_acknowledge(struct tdb *t, int64_t id, int64_t user_id);

#endif
