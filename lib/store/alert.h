/*
 * Alerts.  Raising is idempotent: while an alert of the same type and
 * subject is open (or acknowledged), raising it again counts another
 * occurrence (the stored open_key column makes it one row).  The life of
 * an alert: open -> acknowledged (a person has seen it) -> resolved (the
 * condition is gone; set by the feature that raised it).
 */
#ifndef RTRW_STORE_ALERT_H
#define RTRW_STORE_ALERT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct alert {
	int64_t id;
	const char *type, *status, *subject_type, *subject_id, *message;
	const char *details; /* JSON */
	int64_t occurrences;
	const char *created_at, *updated_at, *acknowledged_at;
	int64_t acknowledged_by;
	const char *resolved_at;
};
extern const struct rowtype alert_row;

struct alert_filter {
	const char *type, *status;
};
extern const struct store_list store_alert_list;

int store_alert_get(struct tdb *t, int64_t id, struct alert *out);
int store_alert_lock(struct tdb *t, int64_t id, struct alert *out);

/*
 * Raises (type, subject_type, subject_id): 1 and *id for a new alert, 0
 * when an open one only counted another occurrence, -1 on error.
 */
int store_alert_raise(struct tdb *t, const char *type, const char *subject_type,
                      const char *subject_id, const char *message,
                      const char *details, int64_t *id);

/* Resolves the open alert of that subject: 1, 0 (none open) or -1. */
int store_alert_resolve(struct tdb *t, const char *type,
                        const char *subject_type, const char *subject_id);

/* Acknowledges open alert id: 1, 0 (not open) or -1. */
int store_alert_acknowledge(struct tdb *t, int64_t id, int64_t user_id);

#endif
