/*
 * The mailer: sends the notifications queue (one per tenant, in the
 * notifications table) and the platform queue (platform_notifications),
 * and the tenant settings the API changes for it (SMTP server, email
 * templates).  jobs/mailer.c (rtrw-mailer) is its thin main.
 *
 * The state of one queue row, and who moves it:
 *
 *	queued  --claim-->  sending  --server accepted-->  sent
 *	                     |   --failed, attempts < 3-->  queued again,
 *	                     |       send_after = now + back-off
 *	                     |   --failed, 3rd attempt, or a fault no retry
 *	                     |       can mend (no recipient, bad template)-->
 *	                     |       failed, and an email_failed alert
 *	                     `-- lease ran out (the mailer died) --> claimed
 *	                         again: sent once more, or failed (below)
 *
 * Claiming is one short transaction: lock one due row by its key with
 * SELECT ... FOR UPDATE SKIP LOCKED (the candidates come from a plain
 * read of up to 32 due ids; a range scan FOR UPDATE would take gap locks
 * that make writers queueing notifications wait or deadlock), then
 * UPDATE it to 'sending' with a fresh random claim_token,
 * attempts + 1, send_started_at = now and a lease (send_after = now +
 * mail_lease_seconds), COMMIT.  Only then is the SMTP transaction opened,
 * and right after the server's reply the row is finished with an UPDATE
 * that names the claim_token.  So:
 *
 * - Two mailers never send one row at the same time: SKIP LOCKED keeps
 *   the claims apart, and a claimed row is due again only when its
 *   lease has run out.  The lease (default 300 s) is longer than the
 *   whole SMTP transaction can take (smtp_timeout_seconds, checked at
 *   start-up), so a live mailer always finishes before its lease ends.
 * - A row is sent again only after a failure the server reported (a
 *   retry) or after its sender died between claim and finish.  In that
 *   last case nobody knows whether the server accepted the message: the
 *   row is still 'sending' when its lease runs out, and the next claim
 *   finds send_started_at set.  It counts one interruption and sends
 *   again with the same Message-ID (stored at the first attempt), which
 *   a receiver may use to drop the copy.  A row interrupted a second
 *   time is marked failed instead of being sent a third time, so a
 *   message is delivered at most twice even across repeated crashes.
 * - The finishing UPDATE changes nothing when the claim_token is no
 *   longer the row's (the lease was taken over); the mailer logs it.
 *
 * Back-off: the retry after attempt n waits mail_retry_seconds * 4^(n-1)
 * (default 2 and 8 minutes).  Every SMTP failure is retried, permanent
 * (5xx) replies too: requirement 17 says failed sends are retried, and a
 * 5xx that a configuration fix cures is common (relay denied, auth).
 */
#ifndef RTRW_MAILER_H
#define RTRW_MAILER_H

#include <signal.h>
#include <stdint.h>

#include "row.h"

struct arena;
struct config;
struct db;
struct mail_smtp;
struct mail_template;
struct tdb;
struct template_error;

#define MAILER_MAX_ATTEMPTS 3

struct mailer;

/* What a mailer did so far. */
struct mailer_stats {
	long sent, retried, failed, lost;
};

/*
 * Which rows a mailer takes: every tenant's and the platform's
 * (MAILER_ALL), one tenant's (MAILER_TENANT with tenant set), or the
 * platform's only.
 */
enum mailer_scope { MAILER_ALL, MAILER_TENANT, MAILER_PLATFORM };

/*
 * Makes a mailer on db with the configuration c (its secrets loaded:
 * tenant SMTP passwords are sealed with the data key).  Reads the
 * platform's SMTP password file.  NULL with a sentence in err when the
 * configuration cannot work (lease not longer than the SMTP timeout, an
 * unknown smtp_security, a From address or mail domain that is not
 * valid).
 */
struct mailer *mailer_new(const struct config *c, struct db *db,
                          enum mailer_scope scope, int64_t tenant, char *err,
                          size_t errlen);

/* Wipes the password it holds and frees it; NULL is fine. */
void mailer_free(struct mailer *m);

/*
 * Claims, sends and finishes one due row.  Returns 1 when it handled one
 * (whatever the outcome), 0 when nothing is due, -1 when the database
 * failed.
 */
int mailer_step(struct mailer *m);

/*
 * Runs mailer_step() until nothing is due, *stop is set (checked
 * between messages) or the database fails.  Returns the number of rows
 * handled, or -1 on a database failure.
 */
long mailer_drain(struct mailer *m, volatile sig_atomic_t *stop);

const struct mailer_stats *mailer_stats(const struct mailer *m);

/* ---- Settings the API changes (PUT /settings/smtp, templates) ---- */

/* A refused field: its name and a sentence (the 422 detail). */
struct mailer_field_error {
	const char *field;
	char message[200];
};

/*
 * A tenant's SMTP settings as the API takes them (a whole replacement:
 * PUT).  The password is write-only: set_password 0 keeps the stored
 * one, 1 replaces it with password (NULL or "" clears it).
 */
struct mailer_smtp_input {
	const char *host;
	int64_t port;
	const char *security; /* starttls, starttls_optional, tls, none */
	const char *username; /* NULL or "": no AUTH */
	const char *password;
	int set_password;
	const char *from_email;
	const char *from_name; /* NULL: the tenant's name */
	int verify_tls;
};

/*
 * Validates in against current (the stored settings, NULL when there are
 * none) and stores it, the password sealed with the data key under
 * "tenant:ID:smtp" and the sealed copy wiped, in the caller's
 * transaction.  Refused: a host that is neither a host name nor an IP
 * address, a port outside 1..65535, an unknown security, a username over
 * a connection without TLS (starttls_optional or none) or without a
 * password, a From address that is not a plain ASCII addr-spec, a
 * multi-line name.  1 stored, 0 refused (e says which field and why;
 * nothing changed), -1 error.  The caller wipes in->password.
 */
int mailer_smtp_put(struct tdb *t, const struct config *c,
                    const struct mailer_smtp_input *in,
                    const struct mail_smtp *current,
                    struct mailer_field_error *e);

/*
 * Validates (lib/template.h: subject and at least one body, only the
 * key's documented placeholders) and stores one template of the
 * handle's tenant; a NULL body means the message has no such part.
 * 1 stored; 0 not stored: e->field is NULL when key is not a template
 * key (404), else it names the refused field (422); -1 error.
 */
int mailer_template_put(struct tdb *t, const char *key, const char *subject,
                        const char *body_html, const char *body_text,
                        struct template_error *e);

/*
 * A template as the API shows it: its row with what lib/template.c
 * documents for its key, description (what sends it, to whom) and
 * variables (the placeholders it may use, a JSON array).
 */
struct mailer_template_item {
	const char *key, *subject, *body_html, *body_text;
	const char *description, *variables;
	const char *created_at, *updated_at;
};
extern const struct rowtype mailer_template_item_row;

/*
 * Fills out from m; its strings point into m and into a.  0, or -1 when
 * the arena is full.
 */
int mailer_template_item(const struct mail_template *m, struct arena *a,
                         struct mailer_template_item *out);

#endif
