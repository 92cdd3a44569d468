/*
 * Email: the tenant's SMTP server, its email templates and its queue of
 * notifications, thin over lib/mailer.h (validation, sealing) and
 * lib/store/mail.h (the rows).  rtrw-mailer sends; these routes only
 * change what it sends with and show what it did.
 *
 * /settings/smtp is one object per tenant.  GET answers 404 while the
 * tenant has none of its own (its mail then goes through the platform's
 * server); PUT creates or replaces it whole (200 with the stored
 * settings); DELETE forgets it (204; 404 when there was none).  The
 * password is write-only: sealed with the data key, never returned
 * (password_set says whether one is stored), wiped from the request
 * after sealing.  In a PUT an absent password keeps the stored one, null
 * clears it, a string replaces it, so an admin can change the host
 * without typing the password again.  port defaults from security (465
 * for tls, 25 for none, else 587).
 *
 * Templates: every tenant has one row per key from registration on (the
 * defaults of migration 0011), so the list always holds every key.  Each
 * item carries the key's description and the variables its placeholders
 * may use.  PUT replaces one template: subject and at least one body;
 * an absent or null body is a message without that part.  The subject is
 * plain text (markup refused like every plain-text field); the bodies
 * are template sources, not display text: body_html is HTML by nature,
 * and body_text goes out only as text/plain, so neither is held to the
 * plain-text markup rule (a text email may well say <https://...>).
 * Unknown placeholders are 422 naming each of them.
 *
 * Notifications: the queue as the mailer leaves it, newest first, so a
 * failed email is visible with its last_error.  Operators and admins
 * may read it, like the templates: an operator, who looks after
 * customers and payments, must see that a customer's overdue notice did
 * not go out, and the rows hold nothing an operator may not read
 * otherwise (customer addresses; staff recipients are ids).
 */
#include "routes.h"

#include <string.h>

#include "arena.h"
#include "fields.h"
#include "mailer.h"
#include "reply.h"
#include "store/mail.h"
#include "template.h"

static const char *const smtp_securities[] = {"starttls", "starttls_optional",
                                              "tls", "none", NULL};
static const char *const notification_statuses[] = {"queued", "sending", "sent",
                                                    "failed", NULL};

/* clang-format off */
const struct field email_smtp_fields[] = {
	{ "host",       FT_STRING,   1, 253,   F_REQUIRED, NULL },
	{ "port",       FT_INT,      1, 65535, 0, NULL },
	{ "security",   FT_ENUM,     0, 0,     0, smtp_securities },
	{ "username",   FT_STRING,   1, 254,   F_NULLABLE, NULL },
	{ "password",   FT_PASSWORD, 1, 255,   F_NULLABLE | F_WRITE_ONLY, NULL },
	{ "from_email", FT_EMAIL,    0, 0,     F_REQUIRED, NULL },
	{ "from_name",  FT_STRING,   1, 100,   F_NULLABLE | F_TEXT, NULL },
	{ "verify_tls", FT_BOOL,     0, 0,     0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	EMAIL_SMTP_F_HOST,
	EMAIL_SMTP_F_PORT,
	EMAIL_SMTP_F_SECURITY,
	EMAIL_SMTP_F_USERNAME,
	EMAIL_SMTP_F_PASSWORD,
	EMAIL_SMTP_F_FROM_EMAIL,
	EMAIL_SMTP_F_FROM_NAME,
	EMAIL_SMTP_F_VERIFY_TLS,
};

const struct field email_template_fields[] = {
	{ "subject",   FT_STRING, 1, TEMPLATE_SUBJECT_MAX, F_REQUIRED | F_TEXT, NULL },
	{ "body_html", FT_STRING, 1, TEMPLATE_BODY_MAX,    F_NULLABLE, NULL },
	{ "body_text", FT_STRING, 1, TEMPLATE_BODY_MAX,    F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	EMAIL_TEMPLATE_F_SUBJECT,
	EMAIL_TEMPLATE_F_BODY_HTML,
	EMAIL_TEMPLATE_F_BODY_TEXT,
};

static const struct filter_def notification_filters[] = {
	FILTER_ENUM_(struct mail_notification_filter, status,
	             notification_statuses,
	             "only notifications in this state"),
	FILTER_ENUM_(struct mail_notification_filter, template_key,
	             template_key_names,
	             "only notifications of this template"),
	FILTER_END
};
/* clang-format on */

const struct list_spec email_notification_list_spec = {
    .store = &store_mail_notification_list,
    .filters = notification_filters,
};

/* ---- /settings/smtp ------------------------------------------------------ */

int
email_smtp_get(struct req *r)
{
	struct mail_smtp s;

	if (req_found(r, store_mail_smtp_get(r->tdb, &s), "smtp settings") < 0)
		return -1;
	return reply_row(r, 200, &mail_smtp_row, &s);
}

/* The port a security setting usually has. */
static int64_t
default_port(const char *security)
{
	if (strcmp(security, "tls") == 0)
		return 465;
	if (strcmp(security, "none") == 0)
		return 25;
	return 587;
}

int
email_smtp_put(struct req *r)
{
	const struct fval *v = r->vals;
	const struct fval *pw = &v[EMAIL_SMTP_F_PASSWORD];
	struct mailer_smtp_input in = {0};
	struct mailer_field_error e;
	struct mail_smtp before, after;
	int had, rc;

	in.host = v[EMAIL_SMTP_F_HOST].s;
	in.security = v[EMAIL_SMTP_F_SECURITY].present
	                  ? v[EMAIL_SMTP_F_SECURITY].s
	                  : "starttls";
	in.port = v[EMAIL_SMTP_F_PORT].present ? v[EMAIL_SMTP_F_PORT].i
	                                       : default_port(in.security);
	in.username = fval_str(&v[EMAIL_SMTP_F_USERNAME]);
	in.set_password = pw->present;
	in.password = fval_str(pw);
	in.from_email = v[EMAIL_SMTP_F_FROM_EMAIL].s;
	in.from_name = fval_str(&v[EMAIL_SMTP_F_FROM_NAME]);
	in.verify_tls = v[EMAIL_SMTP_F_VERIFY_TLS].present
	                    ? (int)v[EMAIL_SMTP_F_VERIFY_TLS].i
	                    : 1;
	if (tdb_begin(r->tdb) < 0 ||
	    (had = store_mail_smtp_lock(r->tdb, &before)) < 0)
		rc = -1;
	else
		rc = mailer_smtp_put(r->tdb, r->cfg, &in, had ? &before : NULL,
		                     &e);
	/* The plain password is of no use past this point. */
	if (pw->present && !pw->is_null && pw->s)
		explicit_bzero((char *)pw->s, pw->len);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return req_invalid(r, e.field, e.message);
	if (store_mail_smtp_get(r->tdb, &after) != 1 ||
	    req_record(r, had ? "update" : "create", "smtp_settings", 0,
	               &mail_smtp_row, had ? &before : NULL, &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &mail_smtp_row, &after);
}

int
email_smtp_delete(struct req *r)
{
	struct mail_smtp before;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_mail_smtp_lock(r->tdb, &before),
	              "smtp settings") < 0 ||
	    store_mail_smtp_delete(r->tdb) != 1 ||
	    req_record(r, "delete", "smtp_settings", 0, &mail_smtp_row, &before,
	               NULL, NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}

/* ---- /email-templates ---------------------------------------------------- */

/*
 * The key of /email-templates/{key}: the path's last segment, a word
 * the router checked; 0 after a 404 when it names no template key.
 */
static const char *
path_key(struct req *r)
{
	const char *slash = strrchr(r->path, '/');
	const char *key = slash ? slash + 1 : "";

	if (template_key_find(key))
		return key;
	req_fail(r, 404, "not_found", "email template not found");
	return NULL;
}

/* Responds with one template and what its key documents. */
static int
reply_template(struct req *r, int status, const struct mail_template *m)
{
	struct mailer_template_item item;

	if (mailer_template_item(m, r->a, &item) < 0)
		return -1;
	return reply_row(r, status, &mailer_template_item_row, &item);
}

int
email_templates_list(struct req *r)
{
	struct mailer_template_item *items;
	int64_t page, per_page, first;
	struct rows rs, out;
	size_t n = 0;

	/*
	 * A tenant has one template per key (six), so the page is cut
	 * from the whole list here rather than in SQL.
	 */
	if (req_page(r, &page, &per_page) < 0 ||
	    store_mail_template_list(r->tdb, &rs) < 0)
		return -1;
	items = arena_zalloc(r->a, (rs.n + 1) * sizeof(*items));
	if (!items)
		return -1;
	first = (page - 1) * per_page;
	for (size_t i = 0; i < rs.n; i++) {
		if ((int64_t)i < first || (int64_t)n >= per_page)
			continue;
		if (mailer_template_item(rows_at(&rs, i), r->a, &items[n++]) <
		    0)
			return -1;
	}
	out = (struct rows){
	    .type = &mailer_template_item_row, .n = n, .data = items};
	return reply_page(r, &out, page, per_page, (int64_t)rs.n);
}

int
email_templates_get(struct req *r)
{
	const char *key = path_key(r);
	struct mail_template m;

	if (!key || req_found(r, store_mail_template_get(r->tdb, key, &m),
	                      "email template") < 0)
		return -1;
	return reply_template(r, 200, &m);
}

int
email_templates_put(struct req *r)
{
	const struct fval *v = r->vals;
	const char *key = path_key(r);
	struct mail_template before, after;
	struct template_error e;
	int had, rc;

	if (!key || tdb_begin(r->tdb) < 0 ||
	    (had = store_mail_template_lock(r->tdb, key, &before)) < 0)
		return -1;
	rc = mailer_template_put(r->tdb, key, v[EMAIL_TEMPLATE_F_SUBJECT].s,
	                         fval_str(&v[EMAIL_TEMPLATE_F_BODY_HTML]),
	                         fval_str(&v[EMAIL_TEMPLATE_F_BODY_TEXT]), &e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return e.field ? req_invalid(r, e.field, e.message)
		               : req_fail(r, 404, "not_found",
		                          "email template not found");
	if (store_mail_template_get(r->tdb, key, &after) != 1 ||
	    req_record(r, "update", "email_template", 0, &mail_template_row,
	               had ? &before : NULL, &after, NULL) < 0 ||
	    tdb_commit(r->tdb) < 0)
		return -1;
	return reply_template(r, 200, &after);
}

/* ---- /notifications ------------------------------------------------------ */

int
email_notifications_list(struct req *r)
{
	return reply_list(r, &email_notification_list_spec);
}

int
email_notifications_get(struct req *r)
{
	struct mail_notification n;

	if (req_found(r, store_mail_notification_get(r->tdb, r->ids[0], &n),
	              "notification") < 0)
		return -1;
	return reply_row(r, 200, &mail_notification_row, &n);
}
