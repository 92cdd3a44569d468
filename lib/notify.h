/*
 * Queueing email notifications.  Rows go into the notifications table in
 * the caller's transaction; rtrw-mailer (lib/mailer.h) renders the
 * tenant's template for template_key with the payload's variables and
 * sends them, retrying up to 3 times.
 *
 * Template keys: payment_overdue, ticket_created, speed_boost_approved,
 * device_offline, report_ready, backup_failed.  The variables each key
 * may use, and so what its payload should carry, are listed in
 * lib/template.c (and GET /email-templates shows them); the mailer adds
 * tenant_name and recipient_name itself.
 */
#ifndef RTRW_NOTIFY_H
#define RTRW_NOTIFY_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct arena;
struct db;
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

/*
 * Queues template_key (backup_failed) to every active platform admin, in
 * platform_notifications: platform mail has no tenant, so it has a queue
 * of its own that rtrw-mailer sends with the platform's SMTP server and
 * the default template (email_template_defaults).  For backup_failed the
 * payload carries backup_id, source ("schedule", "manual" or "api"),
 * started_at, host and error; a dedupe key such as
 * "backup_failed:<backup id>" keeps a retried failure report from
 * mailing twice.  Runs on db in the
 * caller's transaction, if any; a (one-row-per-admin) dedupe key makes it
 * idempotent as in notify_admins().  Returns the number of rows queued,
 * or -1.
 */
int notify_platform_admins(struct db *db, struct arena *a,
                           const char *template_key, const cJSON *payload,
                           const char *dedupe_key);

#endif
