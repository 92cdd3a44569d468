/*
 * The mailer's statements (lib/mailer.c): claiming and finishing rows of
 * the notifications queue, what a message needs (template, recipient,
 * tenant, SMTP settings), the settings and templates the API will change,
 * and the platform's own queue, platform_notifications.
 *
 * The state machine lives in lib/mailer.h; these statements are its
 * transitions.  Every finishing UPDATE names the claim_token of the
 * mailer that claimed the row, so a mailer that lost its claim changes
 * nothing.  The tenant table and the platform table list the same
 * transitions with the same arguments (the tenant id aside), so that
 * lib/mailer.c runs one state machine over both queues.
 */
#include "store/store.h"

#include <stddef.h>

/* The columns of a claim: what the mailer decides the next state from. */
#define PICK_COLS                                                              \
	"SELECT id, status, send_started_at IS NOT NULL AS started,"           \
	" interrupted, attempts, template_key"

/* clang-format off */
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
	[MAIL_PICK_EXPIRED] = STMT("mail_pick_expired", SCOPE_TENANT, "ti",
	     "SELECT id FROM notifications"
	     " WHERE tenant_id = ? AND status = 'sending'"
	     " AND send_after <= NOW() ORDER BY send_after, id LIMIT ?"),
	[MAIL_PICK_QUEUED] = STMT("mail_pick_queued", SCOPE_TENANT, "ti",
	     "SELECT id FROM notifications"
	     " WHERE tenant_id = ? AND status = 'queued'"
	     " AND send_after <= NOW() ORDER BY send_after, id LIMIT ?"),
	[MAIL_LOCK] = STMT("mail_lock", SCOPE_TENANT, "ti",
	     PICK_COLS ", tenant_id FROM notifications"
	     " WHERE tenant_id = ? AND id = ?"
	     " AND status IN ('queued', 'sending') AND send_after <= NOW()"
	     " FOR UPDATE SKIP LOCKED"),
	/* Claim and start in one: status, token, attempt, lease. */
	[MAIL_START] = STMT("mail_start", SCOPE_TENANT, "siisti",
	     "UPDATE notifications SET status = 'sending', claim_token = ?,"
	     " attempts = attempts + 1, interrupted = ?,"
	     " send_started_at = NOW(),"
	     " send_after = NOW() + INTERVAL ? SECOND,"
	     " message_id = COALESCE(message_id, ?)"
	     " WHERE tenant_id = ? AND id = ?"),
	[MAIL_GET] = STMT("mail_get", SCOPE_TENANT, "tis",
	     "SELECT id, template_key, recipient_user_id, recipient_email,"
	     " payload, attempts, message_id FROM notifications"
	     " WHERE tenant_id = ? AND id = ? AND claim_token = ?"),
	[MAIL_SENT] = STMT("mail_sent", SCOPE_TENANT, "tis",
	     "UPDATE notifications SET status = 'sent', sent_at = NOW(),"
	     " last_error = NULL, claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = ? AND id = ? AND claim_token = ?"),
	[MAIL_RETRY] = STMT("mail_retry", SCOPE_TENANT, "istis",
	     "UPDATE notifications SET status = 'queued',"
	     " send_after = NOW() + INTERVAL ? SECOND, last_error = ?,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = ? AND id = ? AND claim_token = ?"),
	[MAIL_FAIL] = STMT("mail_fail", SCOPE_TENANT, "stis",
	     "UPDATE notifications SET status = 'failed', last_error = ?,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = ? AND id = ? AND claim_token = ?"),
	/* A row locked by the caller's pick whose sender died. */
	[MAIL_ABANDON] = STMT("mail_abandon", SCOPE_TENANT, "sti",
	     "UPDATE notifications SET status = 'failed', last_error = ?,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE tenant_id = ? AND id = ? AND status = 'sending'"),
	[MAIL_RECIPIENT] = STMT("mail_recipient", SCOPE_TENANT, "ti",
	     "SELECT email, name, active FROM users"
	     " WHERE tenant_id = ? AND id = ?"),
	[MAIL_TENANT] = STMT("mail_tenant", SCOPE_TENANT, "t",
	     "SELECT name FROM tenants WHERE tenants.id = ?"),
	/* The tenant's template, or the default when its row is gone. */
	[MAIL_TEMPLATE] = STMT("mail_template", SCOPE_TENANT, "tss",
	     "SELECT 0 AS pri, subject, body_html, body_text"
	     " FROM email_templates WHERE tenant_id = ? AND template_key = ?"
	     " UNION ALL SELECT 1, subject, body_html, body_text"
	     " FROM email_template_defaults WHERE template_key = ?"
	     " ORDER BY pri LIMIT 1"),
	[MAIL_TEMPLATE_SEED] = STMT("mail_template_seed", SCOPE_TENANT, "t",
	     "INSERT INTO email_templates (tenant_id, template_key, subject,"
	     " body_html, body_text) SELECT ?, template_key, subject,"
	     " body_html, body_text FROM email_template_defaults"),
	[MAIL_TEMPLATE_LIST] = STMT("mail_template_list", SCOPE_TENANT, "t",
	     "SELECT template_key, subject, body_html, body_text, updated_at"
	     " FROM email_templates WHERE tenant_id = ?"
	     " ORDER BY template_key"),
	[MAIL_TEMPLATE_PUT] = STMT("mail_template_put", SCOPE_TENANT, "tssss",
	     "INSERT INTO email_templates (tenant_id, template_key, subject,"
	     " body_html, body_text) VALUES (?, ?, ?, ?, ?)"
	     " ON DUPLICATE KEY UPDATE subject = VALUES(subject),"
	     " body_html = VALUES(body_html), body_text = VALUES(body_text)"),
	[MAIL_SMTP_GET] = STMT("mail_smtp_get", SCOPE_TENANT, "t",
	     "SELECT host, port, security, username, password_enc,"
	     " from_email, from_name, verify_tls, created_at, updated_at"
	     " FROM tenant_smtp_settings WHERE tenant_id = ?"),
	[MAIL_SMTP_PUT] = STMT("mail_smtp_put", SCOPE_TENANT, "tsissssi",
	     "INSERT INTO tenant_smtp_settings (tenant_id, host, port,"
	     " security, username, from_email, from_name, verify_tls)"
	     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	     " ON DUPLICATE KEY UPDATE host = VALUES(host),"
	     " port = VALUES(port), security = VALUES(security),"
	     " username = VALUES(username), from_email = VALUES(from_email),"
	     " from_name = VALUES(from_name),"
	     " verify_tls = VALUES(verify_tls)"),
	[MAIL_SMTP_SET_PASSWORD] = STMT("mail_smtp_set_password",
	     SCOPE_TENANT, "bt",
	     "UPDATE tenant_smtp_settings SET password_enc = ?"
	     " WHERE tenant_id = ?"),
	[MAIL_SMTP_DELETE] = STMT("mail_smtp_delete", SCOPE_TENANT, "t",
	     "DELETE FROM tenant_smtp_settings WHERE tenant_id = ?"),
	/* GET /notifications?status= (served by ix_notifications_tenant_status). */
	[MAIL_LIST_STATUS] = STMT("mail_list_status", SCOPE_TENANT, "tsii",
	     "SELECT id, template_key, recipient_user_id, recipient_email,"
	     " status, attempts, last_error, message_id, send_after, sent_at,"
	     " created_at FROM notifications"
	     " WHERE tenant_id = ? AND status = ?"
	     " ORDER BY id DESC LIMIT ? OFFSET ?"),
	[MAIL_COUNT_STATUS] = STMT("mail_count_status", SCOPE_TENANT, "ts",
	     "SELECT COUNT(*) AS total FROM notifications"
	     " WHERE tenant_id = ? AND status = ?"),
	[MAIL__MAX] = STMT_END
};

int
store_mail_seed(struct tdb *t)
{
	return tdb_query(t, &store_mail_stmts[MAIL_TEMPLATE_SEED], DB_NOARGS,
	                 NULL);
}

/* The mailer's claims across every tenant (ix_notifications_status). */
const struct stmt_def store_mail_global_stmts[] = {
	[MAIL_G_PICK_EXPIRED] = STMT("mail_g_pick_expired", SCOPE_GLOBAL, "i",
	     "SELECT id FROM notifications"
	     " WHERE status = 'sending' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT ?"),
	[MAIL_G_PICK_QUEUED] = STMT("mail_g_pick_queued", SCOPE_GLOBAL, "i",
	     "SELECT id FROM notifications"
	     " WHERE status = 'queued' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT ?"),
	[MAIL_G_LOCK] = STMT("mail_g_lock", SCOPE_GLOBAL, "i",
	     PICK_COLS ", tenant_id FROM notifications WHERE id = ?"
	     " AND status IN ('queued', 'sending') AND send_after <= NOW()"
	     " FOR UPDATE SKIP LOCKED"),
	[MAIL_G__MAX] = STMT_END
};

/*
 * Platform mail: the same transitions on platform_notifications, indexed
 * like store_mail_stmts and taking the same arguments without the tenant.
 */
const struct stmt_def store_mail_platform_stmts[] = {
	[MAIL_PICK_EXPIRED] = STMT("mail_p_pick_expired", SCOPE_GLOBAL, "i",
	     "SELECT id FROM platform_notifications"
	     " WHERE status = 'sending' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT ?"),
	[MAIL_PICK_QUEUED] = STMT("mail_p_pick_queued", SCOPE_GLOBAL, "i",
	     "SELECT id FROM platform_notifications"
	     " WHERE status = 'queued' AND send_after <= NOW()"
	     " ORDER BY send_after, id LIMIT ?"),
	[MAIL_LOCK] = STMT("mail_p_lock", SCOPE_GLOBAL, "i",
	     PICK_COLS ", 0 AS tenant_id FROM platform_notifications"
	     " WHERE id = ? AND status IN ('queued', 'sending')"
	     " AND send_after <= NOW() FOR UPDATE SKIP LOCKED"),
	[MAIL_START] = STMT("mail_p_start", SCOPE_GLOBAL, "siisi",
	     "UPDATE platform_notifications SET status = 'sending',"
	     " claim_token = ?, attempts = attempts + 1, interrupted = ?,"
	     " send_started_at = NOW(),"
	     " send_after = NOW() + INTERVAL ? SECOND,"
	     " message_id = COALESCE(message_id, ?) WHERE id = ?"),
	[MAIL_GET] = STMT("mail_p_get", SCOPE_GLOBAL, "is",
	     "SELECT id, template_key, recipient_admin_id AS recipient_user_id,"
	     " recipient_email, payload, attempts, message_id"
	     " FROM platform_notifications WHERE id = ? AND claim_token = ?"),
	[MAIL_SENT] = STMT("mail_p_sent", SCOPE_GLOBAL, "is",
	     "UPDATE platform_notifications SET status = 'sent',"
	     " sent_at = NOW(), last_error = NULL, claim_token = NULL,"
	     " send_started_at = NULL WHERE id = ? AND claim_token = ?"),
	[MAIL_RETRY] = STMT("mail_p_retry", SCOPE_GLOBAL, "isis",
	     "UPDATE platform_notifications SET status = 'queued',"
	     " send_after = NOW() + INTERVAL ? SECOND, last_error = ?,"
	     " claim_token = NULL, send_started_at = NULL"
	     " WHERE id = ? AND claim_token = ?"),
	[MAIL_FAIL] = STMT("mail_p_fail", SCOPE_GLOBAL, "sis",
	     "UPDATE platform_notifications SET status = 'failed',"
	     " last_error = ?, claim_token = NULL, send_started_at = NULL"
	     " WHERE id = ? AND claim_token = ?"),
	[MAIL_ABANDON] = STMT("mail_p_abandon", SCOPE_GLOBAL, "si",
	     "UPDATE platform_notifications SET status = 'failed',"
	     " last_error = ?, claim_token = NULL, send_started_at = NULL"
	     " WHERE id = ? AND status = 'sending'"),
	[MAIL_RECIPIENT] = STMT("mail_p_recipient", SCOPE_GLOBAL, "i",
	     "SELECT email, name, active FROM platform_admins WHERE id = ?"),
	[MAIL_TENANT] = STMT("mail_p_tenant", SCOPE_GLOBAL, "",
	     "SELECT NULL AS name"),
	[MAIL_TEMPLATE] = STMT("mail_p_template", SCOPE_GLOBAL, "ss",
	     "SELECT 1 AS pri, subject, body_html, body_text"
	     " FROM email_template_defaults"
	     " WHERE template_key = ? AND template_key = ?"),
	/* notify_platform_admins(): one row per active platform admin. */
	[MAIL_P_QUEUE_ADMINS] = STMT("mail_p_queue_admins", SCOPE_GLOBAL, "sss",
	     "INSERT IGNORE INTO platform_notifications (template_key,"
	     " recipient_admin_id, payload, dedupe_key)"
	     " SELECT ?, id, ?, CONCAT(?, ':', id) FROM platform_admins"
	     " WHERE active = 1"),
	[MAIL_P_QUEUE_ADMINS_NODEDUPE] = STMT("mail_p_queue_admins_nodedupe",
	     SCOPE_GLOBAL, "ss",
	     "INSERT INTO platform_notifications (template_key,"
	     " recipient_admin_id, payload)"
	     " SELECT ?, id, ? FROM platform_admins WHERE active = 1"),
	[MAIL_P__MAX] = STMT_END
};
/* clang-format on */
