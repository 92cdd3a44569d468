/*
 * The mailer's data (lib/mailer.h): the two queues it sends, every
 * tenant's notifications and the platform's platform_notifications, what
 * a message needs (recipient, template, tenant name), and the tenant
 * settings the API changes (SMTP server, email templates), plus the
 * notifications list of GET /notifications.
 *
 * The state machine lives in lib/mailer.h; the functions below are its
 * transitions.  Each finishing transition names the claim_token of the
 * mailer that claimed the row and reports whether it still held it, so
 * a mailer that lost its claim changes nothing.  The tenant queue and
 * the platform queue have the same transitions with the same arguments:
 * a struct mail_q says which one a call runs on.
 */
#ifndef RTRW_STORE_MAIL_H
#define RTRW_STORE_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct store_list;

/*
 * The queue a mailer call works on:
 * - one tenant's notifications: t is that tenant's handle;
 * - every tenant's notifications: t NULL, platform 0 (claims only:
 *   store_mail_due() and store_mail_lock(), global statements that find
 *   a row's tenant, after which the caller opens its handle);
 * - the platform's queue: t NULL, platform 1.
 * db and a are the connection and the arena of the global statements.
 */
struct mail_q {
	struct db *db;
	struct arena *a;
	struct tdb *t;
	int platform;
};

/* A due row: only its id, read without locks. */
struct mail_due {
	int64_t id;
};

/*
 * The rows that are due, up to limit, into out (struct mail_due): with
 * expired set, rows still 'sending' whose lease ran out, else 'queued'
 * rows whose send_after has come.  A plain read that locks nothing (see
 * lib/store/mail.c for why).  0 or -1.
 */
int store_mail_due(const struct mail_q *q, int expired, int64_t limit,
                   struct rows *out);

/* A row locked for a claim: what the next state is decided from. */
struct mail_claim {
	int64_t id, tenant_id; /* tenant_id 0 on the platform queue */
	const char *status, *template_key;
	int started; /* an SMTP transaction began (send_started_at set) */
	int64_t interrupted, attempts;
};

/*
 * Locks row id if it is still due and no other mailer holds it (FOR
 * UPDATE SKIP LOCKED), in the caller's transaction: 1 locked, 0 not due
 * or held elsewhere, -1 error.
 */
int store_mail_lock(const struct mail_q *q, int64_t id, struct mail_claim *out);

/*
 * Claims locked row id for token: 'sending', attempts + 1, interrupted
 * set to the given count, send_started_at now, a lease of lease seconds
 * (send_after), message_id kept if it has one.  0 or -1.
 */
int store_mail_start(const struct mail_q *q, int64_t id, const char *token,
                     int64_t interrupted, int64_t lease,
                     const char *message_id);

/* What a claimed row holds for its message. */
struct mail_job {
	int64_t id;
	const char *template_key;
	int64_t recipient_user_id; /* platform: the platform admin's id */
	const char *recipient_email, *payload;
	int64_t attempts;
	const char *message_id;
};

/* Reads row id if token still holds it: 1, 0 (claim lost) or -1. */
int store_mail_get(const struct mail_q *q, int64_t id, const char *token,
                   struct mail_job *out);

/*
 * The finishing transitions of row id under token: sent; queued again
 * after delay seconds with error; failed with error.  1 done, 0 when
 * the token no longer holds the row (nothing changed), -1 error.
 */
int store_mail_sent(const struct mail_q *q, int64_t id, const char *token);
int store_mail_retry(const struct mail_q *q, int64_t id, const char *token,
                     int64_t delay, const char *error);
int store_mail_fail(const struct mail_q *q, int64_t id, const char *token,
                    const char *error);

/*
 * Fails row id, locked by the caller's claim transaction, whose sender
 * died while it was 'sending': 1, 0 (not 'sending') or -1.
 */
int store_mail_abandon(const struct mail_q *q, int64_t id, const char *error);

/* A recipient by id: a user of the tenant, or a platform admin. */
struct mail_recipient {
	const char *email, *name;
	int active;
};
int store_mail_recipient(const struct mail_q *q, int64_t id,
                         struct mail_recipient *out);

/* The name of the queue's tenant; *name NULL on the platform queue. */
int store_mail_tenant_name(const struct mail_q *q, const char **name);

/*
 * The template of key for a message: the tenant's own, or the default
 * when the tenant has none (and always on the platform queue).  A NULL
 * body means the message has no such part.  1, 0 (no such key) or -1.
 */
struct mail_template_text {
	int64_t pri; /* 0 the tenant's, 1 the default */
	const char *subject, *body_html, *body_text;
};
int store_mail_template_text(const struct mail_q *q, const char *key,
                             struct mail_template_text *out);

/*
 * Queues template_key with payload (JSON text, may be NULL) to every
 * active platform admin, one row each; with dedupe_key the row of admin
 * N carries "dedupe_key:N" and a second call queues nothing.  Runs in
 * the caller's transaction, if any.  Stores the number queued; 0 or -1.
 */
int store_mail_queue_platform_admins(struct db *db, struct arena *a,
                                     const char *template_key,
                                     const char *payload,
                                     const char *dedupe_key, int64_t *queued);

/* ---- Settings: the tenant's SMTP server ---------------------------- */

/*
 * A tenant's own SMTP server.  The password is sealed (lib/crypto.h,
 * associated data "tenant:ID:smtp"), read only by the mailer and never
 * written as JSON; password_set says whether there is one.
 */
struct mail_smtp {
	const char *host;
	int64_t port;
	const char *security, *username;
	struct bytes password_enc;
	int password_set;
	const char *from_email, *from_name;
	int verify_tls;
	const char *created_at, *updated_at;
};
extern const struct rowtype mail_smtp_row;

/* The handle's tenant's settings: 1, 0 (none: the platform's) or -1. */
int store_mail_smtp_get(struct tdb *t, struct mail_smtp *out);

/* The same, locking the row for a change in the caller's transaction. */
int store_mail_smtp_lock(struct tdb *t, struct mail_smtp *out);

/*
 * Writes host, port, security, username, from_email, from_name and
 * verify_tls of s (created or replaced); the password stays.  0 or -1.
 */
int store_mail_smtp_put(struct tdb *t, const struct mail_smtp *s);

/* Replaces the sealed password (p NULL clears it); 0 or -1. */
int store_mail_smtp_set_password(struct tdb *t, const unsigned char *p,
                                 size_t n);

/* Forgets the settings: 1 removed, 0 there were none, -1 error. */
int store_mail_smtp_delete(struct tdb *t);

/* ---- Settings: email templates --------------------------------------- */

/* A tenant's template of one key (NULL body: no such part). */
struct mail_template {
	const char *key, *subject, *body_html, *body_text;
	const char *created_at, *updated_at;
};
extern const struct rowtype mail_template_row;

/* Every template of the tenant by key into out; 0 or -1. */
int store_mail_template_list(struct tdb *t, struct rows *out);

/* The tenant's template of key: 1, 0 or -1; _lock locks it. */
int store_mail_template_get(struct tdb *t, const char *key,
                            struct mail_template *out);
int store_mail_template_lock(struct tdb *t, const char *key,
                             struct mail_template *out);

/* Creates or replaces the template m->key of the tenant; 0 or -1. */
int store_mail_template_put(struct tdb *t, const struct mail_template *m);

/*
 * Copies the default templates into the handle's tenant (seed_tenant()
 * runs it in the registering transaction); 0 or -1.
 */
int store_mail_seed(struct tdb *t);

/* ---- GET /notifications ------------------------------------------------ */

/* A queue row as the API shows it (no claim token, no dedupe key). */
struct mail_notification {
	int64_t id;
	const char *template_key;
	int64_t recipient_user_id;
	const char *recipient_email;
	const char *payload; /* JSON */
	const char *status;
	int64_t attempts;
	const char *last_error, *message_id, *send_after, *sent_at;
	const char *created_at;
};
extern const struct rowtype mail_notification_row;

/* Filters of the list (NULL: any). */
struct mail_notification_filter {
	const char *status, *template_key;
};
extern const struct store_list store_mail_notification_list;

int store_mail_notification_get(struct tdb *t, int64_t id,
                                struct mail_notification *out);

#endif
