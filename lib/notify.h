/*
 * Queueing email notifications.  Rows go into the notifications table in
 * the caller's transaction; the mailer job (email issue) renders the
 * tenant's template for template_key with the payload's variables and
 * sends them, retrying up to 3 times.
 *
 * Template keys: payment_overdue, ticket_created, speed_boost_approved,
 * device_offline, report_ready, backup_failed.
 */
#ifndef RTRW_NOTIFY_H
#define RTRW_NOTIFY_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct tdb;

/*
 * Queues one email to a user of the tenant (user_id) or to an address
 * (email); one of them is set.  dedupe_key (may be NULL) makes the call
 * idempotent: a second call with the same key queues nothing.  Returns
 * 1 queued, 0 already queued, -1 error.
 */
int notify_queue(struct tdb *t, const char *template_key, int64_t user_id,
                 const char *email, const cJSON *payload,
                 const char *dedupe_key);

/* Queues template_key to every active admin of the tenant; 0 or -1. */
int notify_admins(struct tdb *t, const char *template_key, const cJSON *payload,
                  const char *dedupe_key);

#endif
