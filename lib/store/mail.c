/*
 * The mailer's statements (lib/store/mail.h).  Tenant transitions run on
 * notifications through the tenant handle; the platform's twins run on
 * platform_notifications, a global table; the claims of a mailer that
 * serves every tenant are global reads of notifications that hand the
 * row's tenant to the caller, who then opens that tenant's handle for
 * everything else.
 */
#include "store/mail.h"

#include <string.h>

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col due_cols[] = {
	COL_INT(struct mail_due, id, 0),
	COL_END
};
static const struct rowtype due_row =
    ROWTYPE(struct mail_due, "mail_due", due_cols);

static const struct col claim_cols[] = {
	COL_INT(struct mail_claim, id, 0),
	COL_INT(struct mail_claim, tenant_id, 0),
	COL_STR(struct mail_claim, status, 0),
	COL_STR(struct mail_claim, template_key, 0),
	COL_BOOL(struct mail_claim, started, 0),
	COL_INT(struct mail_claim, interrupted, 0),
	COL_INT(struct mail_claim, attempts, 0),
	COL_END
};
static const struct rowtype claim_row =
    ROWTYPE(struct mail_claim, "mail_claim", claim_cols);

static const struct col job_cols[] = {
	COL_INT(struct mail_job, id, 0),
	COL_STR(struct mail_job, template_key, 0),
	COL_INT(struct mail_job, recipient_user_id, COL_F_NULL),
	COL_STR(struct mail_job, recipient_email, COL_F_NULL),
	COL_STR(struct mail_job, payload, COL_F_NULL),
	COL_INT(struct mail_job, attempts, 0),
	COL_STR(struct mail_job, message_id, COL_F_NULL),
	COL_END
};
static const struct rowtype job_row =
    ROWTYPE(struct mail_job, "mail_job", job_cols);

static const struct col recipient_cols[] = {
	COL_STR(struct mail_recipient, email, 0),
	COL_STR(struct mail_recipient, name, 0),
	COL_BOOL(struct mail_recipient, active, 0),
	COL_END
};
static const struct rowtype recipient_row =
    ROWTYPE(struct mail_recipient, "mail_recipient", recipient_cols);

struct tenant_name {
	const char *name;
};
static const struct col tenant_name_cols[] = {
	COL_STR(struct tenant_name, name, 0),
	COL_END
};
static const struct rowtype tenant_name_row =
    ROWTYPE(struct tenant_name, "mail_tenant_name", tenant_name_cols);

static const struct col text_cols[] = {
	COL_INT(struct mail_template_text, pri, 0),
	COL_STR(struct mail_template_text, subject, 0),
	COL_STR(struct mail_template_text, body_html, COL_F_NULL),
	COL_STR(struct mail_template_text, body_text, COL_F_NULL),
	COL_END
};
static const struct rowtype text_row =
    ROWTYPE(struct mail_template_text, "mail_template_text", text_cols);

static const struct col smtp_cols[] = {
	COL_STR(struct mail_smtp, host, 0),
	COL_INT(struct mail_smtp, port, 0),
	COL_STR(struct mail_smtp, security, 0),
	COL_STR(struct mail_smtp, username, COL_F_NULL),
	COL_BYTES(struct mail_smtp, password_enc, COL_F_NULL | COL_F_HIDDEN),
	COL_BOOL(struct mail_smtp, password_set, 0),
	COL_STR(struct mail_smtp, from_email, 0),
	COL_STR(struct mail_smtp, from_name, COL_F_NULL),
	COL_BOOL(struct mail_smtp, verify_tls, 0),
	COL_TIME(struct mail_smtp, created_at, 0),
	COL_TIME(struct mail_smtp, updated_at, 0),
	COL_END
};
const struct rowtype mail_smtp_row =
    ROWTYPE(struct mail_smtp, "smtp_settings", smtp_cols);

static const struct col template_cols[] = {
	COL_STR(struct mail_template, key, 0),
	COL_STR(struct mail_template, subject, 0),
	COL_STR(struct mail_template, body_html, COL_F_NULL),
	COL_STR(struct mail_template, body_text, COL_F_NULL),
	COL_TIME(struct mail_template, created_at, 0),
	COL_TIME(struct mail_template, updated_at, 0),
	COL_END
};
const struct rowtype mail_template_row =
    ROWTYPE(struct mail_template, "email_template", template_cols);

static const struct col notification_cols[] = {
	COL_INT(struct mail_notification, id, 0),
	COL_STR(struct mail_notification, template_key, 0),
	COL_INT(struct mail_notification, recipient_user_id, COL_F_NULL),
	COL_STR(struct mail_notification, recipient_email, COL_F_NULL),
	COL_JSON(struct mail_notification, payload, COL_F_NULL),
	COL_STR(struct mail_notification, status, 0),
	COL_INT(struct mail_notification, attempts, 0),
	COL_STR(struct mail_notification, last_error, COL_F_NULL),
	COL_STR(struct mail_notification, message_id, COL_F_NULL),
	COL_TIME(struct mail_notification, send_after, 0),
	COL_TIME(struct mail_notification, sent_at, COL_F_NULL),
	COL_TIME(struct mail_notification, created_at, 0),
	COL_END
};
const struct rowtype mail_notification_row =
    ROWTYPE(struct mail_notification, "notification", notification_cols);

static const struct col notification_filter_cols[] = {
	COL_STR(struct mail_notification_filter, status, COL_F_NULL),
	COL_STR(struct mail_notification_filter, template_key, COL_F_NULL),
	COL_END
};
static const struct rowtype notification_filter_in =
    ROWTYPE(struct mail_notification_filter, "notification_filter",
            notification_filter_cols);

/* What the statements bind. */
struct mail_in {
	int64_t id, interrupted, lease, delay, port;
	int verify_tls;
	const char *token, *message_id, *error, *key, *payload, *dedupe_key;
	const char *host, *security, *username, *from_email, *from_name;
	const char *subject, *body_html, *body_text;
	struct bytes password_enc;
};
static const struct col mail_in_cols[] = {
	COL_INT(struct mail_in, id, 0),
	COL_INT(struct mail_in, interrupted, 0),
	COL_INT(struct mail_in, lease, 0),
	COL_INT(struct mail_in, delay, 0),
	COL_INT(struct mail_in, port, 0),
	COL_BOOL(struct mail_in, verify_tls, 0),
	COL_STR(struct mail_in, token, COL_F_NULL),
	COL_STR(struct mail_in, message_id, COL_F_NULL),
	COL_STR(struct mail_in, error, COL_F_NULL),
	COL_STR(struct mail_in, key, COL_F_NULL),
	COL_JSON(struct mail_in, payload, COL_F_NULL),
	COL_STR(struct mail_in, dedupe_key, COL_F_NULL),
	COL_STR(struct mail_in, host, COL_F_NULL),
	COL_STR(struct mail_in, security, COL_F_NULL),
	COL_STR(struct mail_in, username, COL_F_NULL),
	COL_STR(struct mail_in, from_email, COL_F_NULL),
	COL_STR(struct mail_in, from_name, COL_F_NULL),
	COL_STR(struct mail_in, subject, COL_F_NULL),
	COL_STR(struct mail_in, body_html, COL_F_NULL),
	COL_STR(struct mail_in, body_text, COL_F_NULL),
	COL_BYTES(struct mail_in, password_enc, COL_F_NULL),
	COL_END
};
static const struct rowtype mail_in =
    ROWTYPE(struct mail_in, "mail_in", mail_in_cols);

static const struct sort_def notification_sorts[] = {
	{ "-created_at", "id DESC" },
	{ "created_at", "id ASC" },
	{ NULL, NULL }
};

/* The columns of a claim; the tenant's id comes from each statement. */
#define CLAIM_COLS \
	"id, status, send_started_at IS NOT NULL AS started, interrupted," \
	" attempts, template_key"

#define NOTIFICATION_FILTER " WHERE tenant_id = :tenant" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:template_key IS NULL OR template_key = :template_key)"

#define SMTP_COLS \
	"host, port, security, username, password_enc," \
	" password_enc IS NOT NULL AS password_set, from_email, from_name," \
	" verify_tls, created_at, updated_at"

#define TEMPLATE_COLS \
	"template_key AS `key`, subject, body_html, body_text, created_at," \
	" updated_at"

enum {
	/* The tenant queue. */
	T_DUE_EXPIRED, T_DUE_QUEUED, T_LOCK, T_START, T_GET, T_SENT, T_RETRY,
	T_FAIL, T_ABANDON, T_RECIPIENT, T_TENANT, T_TEMPLATE,
	/* Every tenant's claims. */
	G_DUE_EXPIRED, G_DUE_QUEUED, G_LOCK,
	/* The platform queue. */
	P_DUE_EXPIRED, P_DUE_QUEUED, P_LOCK, P_START, P_GET, P_SENT, P_RETRY,
	P_FAIL, P_ABANDON, P_RECIPIENT, P_TEMPLATE, P_QUEUE_ADMINS,
	P_QUEUE_ADMINS_NODEDUPE,
	/* Settings and the API's list. */
	S_SMTP_GET, S_SMTP_LOCK, S_SMTP_PUT, S_SMTP_PASSWORD, S_SMTP_DELETE,
	S_TEMPLATE_LIST, S_TEMPLATE_GET, S_TEMPLATE_LOCK, S_TEMPLATE_PUT,
	S_TEMPLATE_SEED, S_NOTE_LIST, S_NOTE_COUNT, S_NOTE_GET,
};

const struct stmt_def store_mail_stmts[] = {
	/*
	 * Claiming is two steps.  A plain (non-locking) read lists due
	 * candidates, rows whose lease ran out (status 'sending',
	 * send_after past) before queued ones; then each candidate is
	 * locked by its primary key with FOR UPDATE SKIP LOCKED and the
	 * due condition checked again on the current row.  Locking by key
	 * takes a record lock only: a range scan FOR UPDATE would take
	 * next-key locks on ix_notifications_status and make every writer
	 * that queues a notification (in its own business transaction)
	 * wait for, or deadlock with, the mailer.  Two mailers never wait
	 * for each other and never take the same row.
	 */
	[T_DUE_EXPIRED] = { "mail_due_expired", SCOPE_TENANT,
	     "SELECT id FROM notifications WHERE tenant_id = :tenant"
	     " AND status = 'sending' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[T_DUE_QUEUED] = { "mail_due_queued", SCOPE_TENANT,
	     "SELECT id FROM notifications WHERE tenant_id = :tenant"
	     " AND status = 'queued' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[T_LOCK] = { "mail_lock", SCOPE_TENANT,
	     "SELECT " CLAIM_COLS ", tenant_id FROM notifications"
	     " WHERE tenant_id = :tenant AND id = :id"
	     " AND status IN ('queued', 'sending') AND send_after <= NOW()"
	     " FOR UPDATE SKIP LOCKED", &mail_in, &claim_row, NULL },
	/* Claim and start in one: status, token, attempt, lease. */
	[T_START] = { "mail_start", SCOPE_TENANT,
	     "UPDATE notifications SET status = 'sending',"
	     " claim_token = :token, attempts = attempts + 1,"
	     " interrupted = :interrupted, send_started_at = NOW(),"
	     " send_after = NOW() + INTERVAL :lease SECOND,"
	     " message_id = COALESCE(message_id, :message_id)"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &mail_in, NULL, NULL },
	[T_GET] = { "mail_get", SCOPE_TENANT,
	     "SELECT id, template_key, recipient_user_id, recipient_email,"
	     " payload, attempts, message_id FROM notifications"
	     " WHERE tenant_id = :tenant AND id = :id AND claim_token = :token",
	     &mail_in, &job_row, NULL },
	[T_SENT] = { "mail_sent", SCOPE_TENANT,
	     "UPDATE notifications SET status = 'sent', sent_at = NOW(),"
	     " last_error = NULL, claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[T_RETRY] = { "mail_retry", SCOPE_TENANT,
	     "UPDATE notifications SET status = 'queued',"
	     " send_after = NOW() + INTERVAL :delay SECOND,"
	     " last_error = :error, claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[T_FAIL] = { "mail_fail", SCOPE_TENANT,
	     "UPDATE notifications SET status = 'failed', last_error = :error,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[T_ABANDON] = { "mail_abandon", SCOPE_TENANT,
	     "UPDATE notifications SET status = 'failed', last_error = :error,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'sending'",
	     &mail_in, NULL, NULL },
	[T_RECIPIENT] = { "mail_recipient", SCOPE_TENANT,
	     "SELECT email, name, active FROM users"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &mail_in, &recipient_row, NULL },
	[T_TENANT] = { "mail_tenant", SCOPE_TENANT,
	     "SELECT name FROM tenants WHERE tenants.id = :tenant",
	     NULL, &tenant_name_row, NULL },
	/* The tenant's template, or the default when its row is gone. */
	[T_TEMPLATE] = { "mail_template_text", SCOPE_TENANT,
	     "SELECT 0 AS pri, subject, body_html, body_text"
	     " FROM email_templates"
	     " WHERE tenant_id = :tenant AND template_key = :key"
	     " UNION ALL SELECT 1, subject, body_html, body_text"
	     " FROM email_template_defaults WHERE template_key = :key"
	     " ORDER BY pri LIMIT 1", &mail_in, &text_row, NULL },

	/* Claims across every tenant (ix_notifications_status). */
	[G_DUE_EXPIRED] = { "mail_g_due_expired", SCOPE_GLOBAL,
	     "SELECT id FROM notifications"
	     " WHERE status = 'sending' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[G_DUE_QUEUED] = { "mail_g_due_queued", SCOPE_GLOBAL,
	     "SELECT id FROM notifications"
	     " WHERE status = 'queued' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[G_LOCK] = { "mail_g_lock", SCOPE_GLOBAL,
	     "SELECT " CLAIM_COLS ", tenant_id FROM notifications"
	     " WHERE id = :id AND status IN ('queued', 'sending')"
	     " AND send_after <= NOW() FOR UPDATE SKIP LOCKED",
	     &mail_in, &claim_row, NULL },

	/*
	 * Platform mail: the same transitions on platform_notifications,
	 * which has no tenant.
	 */
	[P_DUE_EXPIRED] = { "mail_p_due_expired", SCOPE_GLOBAL,
	     "SELECT id FROM platform_notifications"
	     " WHERE status = 'sending' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[P_DUE_QUEUED] = { "mail_p_due_queued", SCOPE_GLOBAL,
	     "SELECT id FROM platform_notifications"
	     " WHERE status = 'queued' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT :limit",
	     NULL, &due_row, NULL },
	[P_LOCK] = { "mail_p_lock", SCOPE_GLOBAL,
	     "SELECT " CLAIM_COLS ", 0 AS tenant_id FROM platform_notifications"
	     " WHERE id = :id AND status IN ('queued', 'sending')"
	     " AND send_after <= NOW() FOR UPDATE SKIP LOCKED",
	     &mail_in, &claim_row, NULL },
	[P_START] = { "mail_p_start", SCOPE_GLOBAL,
	     "UPDATE platform_notifications SET status = 'sending',"
	     " claim_token = :token, attempts = attempts + 1,"
	     " interrupted = :interrupted, send_started_at = NOW(),"
	     " send_after = NOW() + INTERVAL :lease SECOND,"
	     " message_id = COALESCE(message_id, :message_id) WHERE id = :id",
	     &mail_in, NULL, NULL },
	[P_GET] = { "mail_p_get", SCOPE_GLOBAL,
	     "SELECT id, template_key, recipient_admin_id AS recipient_user_id,"
	     " recipient_email, payload, attempts, message_id"
	     " FROM platform_notifications WHERE id = :id"
	     " AND claim_token = :token", &mail_in, &job_row, NULL },
	[P_SENT] = { "mail_p_sent", SCOPE_GLOBAL,
	     "UPDATE platform_notifications SET status = 'sent',"
	     " sent_at = NOW(), last_error = NULL, claim_token = NULL,"
	     " send_started_at = NULL WHERE id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[P_RETRY] = { "mail_p_retry", SCOPE_GLOBAL,
	     "UPDATE platform_notifications SET status = 'queued',"
	     " send_after = NOW() + INTERVAL :delay SECOND,"
	     " last_error = :error, claim_token = NULL, send_started_at = NULL"
	     " WHERE id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[P_FAIL] = { "mail_p_fail", SCOPE_GLOBAL,
	     "UPDATE platform_notifications SET status = 'failed',"
	     " last_error = :error, claim_token = NULL, send_started_at = NULL"
	     " WHERE id = :id AND claim_token = :token",
	     &mail_in, NULL, NULL },
	[P_ABANDON] = { "mail_p_abandon", SCOPE_GLOBAL,
	     "UPDATE platform_notifications SET status = 'failed',"
	     " last_error = :error, claim_token = NULL, send_started_at = NULL"
	     " WHERE id = :id AND status = 'sending'",
	     &mail_in, NULL, NULL },
	[P_RECIPIENT] = { "mail_p_recipient", SCOPE_GLOBAL,
	     "SELECT email, name, active FROM platform_admins WHERE id = :id",
	     &mail_in, &recipient_row, NULL },
	[P_TEMPLATE] = { "mail_p_template_text", SCOPE_GLOBAL,
	     "SELECT 1 AS pri, subject, body_html, body_text"
	     " FROM email_template_defaults WHERE template_key = :key",
	     &mail_in, &text_row, NULL },
	/* notify_platform_admins(): one row per active platform admin. */
	[P_QUEUE_ADMINS] = { "mail_p_queue_admins", SCOPE_GLOBAL,
	     "INSERT IGNORE INTO platform_notifications (template_key,"
	     " recipient_admin_id, payload, dedupe_key)"
	     " SELECT :key, id, :payload, CONCAT(:dedupe_key, ':', id)"
	     " FROM platform_admins WHERE active = 1",
	     &mail_in, NULL, NULL },
	[P_QUEUE_ADMINS_NODEDUPE] = { "mail_p_queue_admins_nodedupe",
	     SCOPE_GLOBAL,
	     "INSERT INTO platform_notifications (template_key,"
	     " recipient_admin_id, payload)"
	     " SELECT :key, id, :payload FROM platform_admins WHERE active = 1",
	     &mail_in, NULL, NULL },

	/* The tenant's SMTP server (GET/PUT/DELETE /settings/smtp). */
	[S_SMTP_GET] = { "mail_smtp_get", SCOPE_TENANT,
	     "SELECT " SMTP_COLS " FROM tenant_smtp_settings"
	     " WHERE tenant_id = :tenant", NULL, &mail_smtp_row, NULL },
	[S_SMTP_LOCK] = { "mail_smtp_lock", SCOPE_TENANT,
	     "SELECT " SMTP_COLS " FROM tenant_smtp_settings"
	     " WHERE tenant_id = :tenant FOR UPDATE",
	     NULL, &mail_smtp_row, NULL },
	[S_SMTP_PUT] = { "mail_smtp_put", SCOPE_TENANT,
	     "INSERT INTO tenant_smtp_settings (tenant_id, host, port,"
	     " security, username, from_email, from_name, verify_tls)"
	     " VALUES (:tenant, :host, :port, :security, :username,"
	     " :from_email, :from_name, :verify_tls)"
	     " ON DUPLICATE KEY UPDATE host = VALUES(host),"
	     " port = VALUES(port), security = VALUES(security),"
	     " username = VALUES(username), from_email = VALUES(from_email),"
	     " from_name = VALUES(from_name),"
	     " verify_tls = VALUES(verify_tls)", &mail_in, NULL, NULL },
	[S_SMTP_PASSWORD] = { "mail_smtp_set_password", SCOPE_TENANT,
	     "UPDATE tenant_smtp_settings SET password_enc = :password_enc"
	     " WHERE tenant_id = :tenant", &mail_in, NULL, NULL },
	[S_SMTP_DELETE] = { "mail_smtp_delete", SCOPE_TENANT,
	     "DELETE FROM tenant_smtp_settings WHERE tenant_id = :tenant",
	     NULL, NULL, NULL },

	/* Templates (GET/PUT /email-templates). */
	[S_TEMPLATE_LIST] = { "mail_template_list", SCOPE_TENANT,
	     "SELECT " TEMPLATE_COLS " FROM email_templates"
	     " WHERE tenant_id = :tenant ORDER BY template_key",
	     NULL, &mail_template_row, NULL },
	[S_TEMPLATE_GET] = { "mail_template_get", SCOPE_TENANT,
	     "SELECT " TEMPLATE_COLS " FROM email_templates"
	     " WHERE tenant_id = :tenant AND template_key = :key",
	     &mail_in, &mail_template_row, NULL },
	[S_TEMPLATE_LOCK] = { "mail_template_lock", SCOPE_TENANT,
	     "SELECT " TEMPLATE_COLS " FROM email_templates"
	     " WHERE tenant_id = :tenant AND template_key = :key FOR UPDATE",
	     &mail_in, &mail_template_row, NULL },
	[S_TEMPLATE_PUT] = { "mail_template_put", SCOPE_TENANT,
	     "INSERT INTO email_templates (tenant_id, template_key, subject,"
	     " body_html, body_text)"
	     " VALUES (:tenant, :key, :subject, :body_html, :body_text)"
	     " ON DUPLICATE KEY UPDATE subject = VALUES(subject),"
	     " body_html = VALUES(body_html), body_text = VALUES(body_text)",
	     &mail_in, NULL, NULL },
	[S_TEMPLATE_SEED] = { "mail_template_seed", SCOPE_TENANT,
	     "INSERT INTO email_templates (tenant_id, template_key, subject,"
	     " body_html, body_text) SELECT :tenant, template_key, subject,"
	     " body_html, body_text FROM email_template_defaults",
	     NULL, NULL, NULL },

	/*
	 * GET /notifications: ix_notifications_tenant_template serves a
	 * template_key filter, ix_notifications_tenant_status a status one,
	 * ix_notifications_tenant_id the unfiltered pages.
	 */
	[S_NOTE_LIST] = { "mail_notification_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM notifications" NOTIFICATION_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &notification_filter_in, &mail_notification_row,
	     notification_sorts },
	[S_NOTE_COUNT] = { "mail_notification_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM notifications" NOTIFICATION_FILTER,
	     &notification_filter_in, &db_count_row, NULL },
	[S_NOTE_GET] = { "mail_notification_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM notifications"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &mail_notification_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_mail_stmts;

const struct store_list store_mail_notification_list = {
    .row = &mail_notification_row,
    .filter_size = sizeof(struct mail_notification_filter),
    .sorts = notification_sorts,
    .page = &store_mail_stmts[S_NOTE_LIST],
    .count = &store_mail_stmts[S_NOTE_COUNT],
};

/*
 * Runs the queue's statement: tenant (index t) through the handle, the
 * platform's twin (index p) on the connection.  out may be NULL.
 */
static int
q_exec(const struct mail_q *q, int t, int p, const struct mail_in *in,
       struct rows *out)
{
	if (q->t)
		return tdb_exec(q->t, &S[t], in, out);
	if (!q->platform)
		return -1; /* every-tenant scope: claims only */
	return db_exec(q->db, q->a, &S[p], in, out);
}

static int
q_one(const struct mail_q *q, int t, int p, const struct mail_in *in, void *row)
{
	if (q->t)
		return tdb_one(q->t, &S[t], in, row);
	if (!q->platform)
		return -1;
	return db_one(q->db, q->a, &S[p], in, row);
}

/* An UPDATE of the queue: 1 when it changed the row, 0 when not, -1. */
static int
q_change(const struct mail_q *q, int t, int p, const struct mail_in *in)
{
	struct rows res;

	if (q_exec(q, t, p, in, &res) < 0)
		return -1;
	return res.affected == 1;
}

int
store_mail_due(const struct mail_q *q, int expired, int64_t limit,
               struct rows *out)
{
	if (q->t)
		return tdb_list(q->t,
		                &S[expired ? T_DUE_EXPIRED : T_DUE_QUEUED], 0,
		                limit, 0, NULL, out);
	if (q->platform)
		return db_list(q->db, q->a,
		               &S[expired ? P_DUE_EXPIRED : P_DUE_QUEUED], 0,
		               limit, 0, NULL, out);
	return db_list(q->db, q->a, &S[expired ? G_DUE_EXPIRED : G_DUE_QUEUED],
	               0, limit, 0, NULL, out);
}

int
store_mail_lock(const struct mail_q *q, int64_t id, struct mail_claim *out)
{
	struct mail_in in = {.id = id};

	if (q->t)
		return tdb_one(q->t, &S[T_LOCK], &in, out);
	return db_one(q->db, q->a, &S[q->platform ? P_LOCK : G_LOCK], &in, out);
}

int
store_mail_start(const struct mail_q *q, int64_t id, const char *token,
                 int64_t interrupted, int64_t lease, const char *message_id)
{
	struct mail_in in = {.id = id,
	                     .token = token,
	                     .interrupted = interrupted,
	                     .lease = lease,
	                     .message_id = message_id};

	return q_change(q, T_START, P_START, &in) == 1 ? 0 : -1;
}

int
store_mail_get(const struct mail_q *q, int64_t id, const char *token,
               struct mail_job *out)
{
	struct mail_in in = {.id = id, .token = token};

	return q_one(q, T_GET, P_GET, &in, out);
}

int
store_mail_sent(const struct mail_q *q, int64_t id, const char *token)
{
	struct mail_in in = {.id = id, .token = token};

	return q_change(q, T_SENT, P_SENT, &in);
}

int
store_mail_retry(const struct mail_q *q, int64_t id, const char *token,
                 int64_t delay, const char *error)
{
	struct mail_in in = {
	    .id = id, .token = token, .delay = delay, .error = error};

	return q_change(q, T_RETRY, P_RETRY, &in);
}

int
store_mail_fail(const struct mail_q *q, int64_t id, const char *token,
                const char *error)
{
	struct mail_in in = {.id = id, .token = token, .error = error};

	return q_change(q, T_FAIL, P_FAIL, &in);
}

int
store_mail_abandon(const struct mail_q *q, int64_t id, const char *error)
{
	struct mail_in in = {.id = id, .error = error};

	return q_change(q, T_ABANDON, P_ABANDON, &in);
}

int
store_mail_recipient(const struct mail_q *q, int64_t id,
                     struct mail_recipient *out)
{
	struct mail_in in = {.id = id};

	return q_one(q, T_RECIPIENT, P_RECIPIENT, &in, out);
}

int
store_mail_tenant_name(const struct mail_q *q, const char **name)
{
	struct tenant_name row;
	int rc;

	*name = NULL;
	if (!q->t)
		return 0;
	rc = tdb_one(q->t, &S[T_TENANT], NULL, &row);
	if (rc == 1)
		*name = row.name;
	return rc < 0 ? -1 : 0;
}

int
store_mail_template_text(const struct mail_q *q, const char *key,
                         struct mail_template_text *out)
{
	struct mail_in in = {.key = key};

	return q_one(q, T_TEMPLATE, P_TEMPLATE, &in, out);
}

int
store_mail_queue_platform_admins(struct db *db, struct arena *a,
                                 const char *template_key, const char *payload,
                                 const char *dedupe_key, int64_t *queued)
{
	struct mail_in in = {
	    .key = template_key, .payload = payload, .dedupe_key = dedupe_key};
	struct rows res;

	if (db_exec(db, a,
	            &S[dedupe_key ? P_QUEUE_ADMINS : P_QUEUE_ADMINS_NODEDUPE],
	            &in, &res) < 0)
		return -1;
	*queued = (int64_t)res.affected;
	return 0;
}

int
store_mail_smtp_get(struct tdb *t, struct mail_smtp *out)
{
	return tdb_one(t, &S[S_SMTP_GET], NULL, out);
}

int
store_mail_smtp_lock(struct tdb *t, struct mail_smtp *out)
{
	return tdb_one(t, &S[S_SMTP_LOCK], NULL, out);
}

int
store_mail_smtp_put(struct tdb *t, const struct mail_smtp *s)
{
	struct mail_in in = {.host = s->host,
	                     .port = s->port,
	                     .security = s->security,
	                     .username = s->username,
	                     .from_email = s->from_email,
	                     .from_name = s->from_name,
	                     .verify_tls = s->verify_tls ? 1 : 0};

	return tdb_exec(t, &S[S_SMTP_PUT], &in, NULL);
}

int
store_mail_smtp_set_password(struct tdb *t, const unsigned char *p, size_t n)
{
	struct mail_in in = {.password_enc = {p, p ? n : 0}};

	return tdb_exec(t, &S[S_SMTP_PASSWORD], &in, NULL);
}

int
store_mail_smtp_delete(struct tdb *t)
{
	struct rows res;

	if (tdb_exec(t, &S[S_SMTP_DELETE], NULL, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_mail_template_list(struct tdb *t, struct rows *out)
{
	return tdb_exec(t, &S[S_TEMPLATE_LIST], NULL, out);
}

int
store_mail_template_get(struct tdb *t, const char *key,
                        struct mail_template *out)
{
	struct mail_in in = {.key = key};

	return tdb_one(t, &S[S_TEMPLATE_GET], &in, out);
}

int
store_mail_template_lock(struct tdb *t, const char *key,
                         struct mail_template *out)
{
	struct mail_in in = {.key = key};

	return tdb_one(t, &S[S_TEMPLATE_LOCK], &in, out);
}

int
store_mail_template_put(struct tdb *t, const struct mail_template *m)
{
	struct mail_in in = {.key = m->key,
	                     .subject = m->subject,
	                     .body_html = m->body_html,
	                     .body_text = m->body_text};

	return tdb_exec(t, &S[S_TEMPLATE_PUT], &in, NULL);
}

int
store_mail_seed(struct tdb *t)
{
	return tdb_exec(t, &S[S_TEMPLATE_SEED], NULL, NULL);
}

int
store_mail_notification_get(struct tdb *t, int64_t id,
                            struct mail_notification *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_NOTE_GET], &in, out);
}
