/*
 * Raising alerts from any feature (low stock, device offline, blocked
 * logins).  One open alert per (type, subject): raising it again does not
 * duplicate it.
 */
#ifndef RTRW_ALERTS_H
#define RTRW_ALERTS_H

#include <cjson/cJSON.h>

struct tdb;

/*
 * Raises an alert of type about (subject_type, subject_id) with a
 * message and optional details.  Returns 1 when a new alert was created,
 * 0 when an open one already existed, -1 on error.
 */
int alert_raise(struct tdb *t, const char *type, const char *subject_type,
                const char *subject_id, const char *message,
                const cJSON *details);

#endif
