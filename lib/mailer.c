#include "mailer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "store/store.h"
#include "template.h"
#include "util.h"

#define ERROR_MAX    480 /* of last_error, VARCHAR(500) */
#define PASSWORD_MAX 256
#define SEALED_MAX   (PASSWORD_MAX + CRYPTO_OVERHEAD)
#define CANDIDATES   32 /* due rows read at once, then locked one by one */

struct mailer {
	const struct config *cfg;
	struct db *db;
	enum mailer_scope scope;
	int64_t tenant;
	struct arena a;
	struct mail_conn *conn;
	enum mail_security security;
	char password[PASSWORD_MAX];
	char domain[CONFIG_STR_MAX];
	int platform_turn; /* MAILER_ALL alternates between the queues */
	/* Due rows seen by the last candidate read, per queue (0 tenant). */
	struct candidates {
		int64_t id[CANDIDATES];
		size_t n, next;
	} cand[2];
	struct mailer_stats stats;
};

/* One claimed row and the queue it came from. */
struct job {
	struct mailer *m;
	int platform;
	int64_t tenant; /* 0 for platform mail */
	struct tdb *t;
	int64_t id;
	char token[33];
	const char *key;
	int attempts;
	int64_t claimed_usec; /* monotonic time of the claim's commit */
};

/* The text of a named column of row 0; NULL for SQL NULL or no column. */
static const char *
cell(const struct dbres *res, const char *name)
{
	int col = dbres_col(res, name);

	return col < 0 || res->nrows == 0 ? NULL
	                                  : dbres_get(res, 0, (size_t)col);
}

static int64_t
cell_int(const struct dbres *res, const char *name)
{
	int col = dbres_col(res, name);

	return col < 0 || res->nrows == 0 ? 0 : dbres_int(res, 0, (size_t)col);
}

/* Runs transition idx of the job's queue (the tenant's or the platform's). */
static int
jq(struct job *j, int idx, const struct dbv *args, size_t nargs,
   struct dbres *out)
{
	if (j->platform)
		return db_query(j->m->db, &j->m->a,
		                &store_mail_platform_stmts[idx], args, nargs,
		                out);
	return tdb_query(j->t, &store_mail_stmts[idx], args, nargs, out);
}

/*
 * Keeps an error fit for last_error and for logs: printable ASCII only
 * (server replies are untrusted bytes), at most ERROR_MAX bytes.
 */
static void
clean_error(const char *in, char *out, size_t n)
{
	size_t i = 0;

	for (; in && *in && i + 1 < n && i < ERROR_MAX; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

/* ---- construction -------------------------------------------------------- */

struct mailer *
mailer_new(const struct config *c, struct db *db, enum mailer_scope scope,
           int64_t tenant, char *err, size_t errlen)
{
	struct mailer *m;
	int sec = mail_security_parse(c->smtp_security);
	const char *at;

	if (sec < 0) {
		snprintf(err, errlen,
		         "smtp_security '%s' is not starttls, "
		         "starttls_optional, tls or none",
		         c->smtp_security);
		return NULL;
	}
	if (c->mail_lease_seconds <
	    c->smtp_connect_timeout_seconds + c->smtp_timeout_seconds + 30) {
		snprintf(err, errlen,
		         "mail_lease_seconds (%d) must exceed "
		         "smtp_connect_timeout_seconds + smtp_timeout_seconds "
		         "by at least 30, or a slow send could outlive its "
		         "claim",
		         c->mail_lease_seconds);
		return NULL;
	}
	if (c->smtp_username[0] &&
	    (sec == MAIL_PLAIN || sec == MAIL_STARTTLS_OPTIONAL)) {
		snprintf(err, errlen,
		         "smtp_username is set but smtp_security is '%s': "
		         "credentials are only sent over TLS (starttls or tls)",
		         c->smtp_security);
		return NULL;
	}
	if (c->smtp_host[0] && !mail_address_ok(c->smtp_from)) {
		snprintf(err, errlen,
		         "smtp_from '%s' is not an email address (it is the "
		         "platform's sender)",
		         c->smtp_from);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->cfg = c;
	m->db = db;
	m->scope = scope;
	m->tenant = tenant;
	m->security = (enum mail_security)sec;
	/* The Message-ID domain: mail_domain, else smtp_from's domain. */
	at = strchr(c->smtp_from, '@');
	snprintf(m->domain, sizeof(m->domain), "%s",
	         c->mail_domain[0] ? c->mail_domain
	         : at              ? at + 1
	                           : "localhost");
	if (mail_message_id(1, 1, m->domain, err, errlen) < 0) {
		snprintf(err, errlen, "mail_domain '%s' is not a host name",
		         m->domain);
		free(m);
		return NULL;
	}
	if (config_read_password(c->smtp_password_file, m->password,
	                         sizeof(m->password), err, errlen) < 0) {
		free(m);
		return NULL;
	}
	arena_init(&m->a, (size_t)c->arena_cap_bytes);
	m->conn = mail_conn_new();
	return m;
}

void
mailer_free(struct mailer *m)
{
	if (!m)
		return;
	explicit_bzero(m->password, sizeof(m->password));
	mail_conn_free(m->conn);
	arena_release(&m->a);
	free(m);
}

const struct mailer_stats *
mailer_stats(const struct mailer *m)
{
	return &m->stats;
}

/* ---- finishing ----------------------------------------------------------- */

/*
 * Raises (or counts another occurrence of) the tenant's email_failed
 * alert for the job's template key, in the caller's transaction.
 */
static int
raise_alert(struct job *j, const char *why)
{
	char msg[500], id[24];
	cJSON *d;
	int rc;

	if (j->platform)
		return 0;
	d = json_own(&j->m->a, cJSON_CreateObject());
	if (!d)
		return -1;
	snprintf(id, sizeof(id), "%" PRId64, j->id);
	json_add_int(d, "notification_id", j->id);
	cJSON_AddStringToObject(d, "template_key", j->key ? j->key : "");
	json_add_int(d, "attempts", j->attempts);
	cJSON_AddStringToObject(d, "error", why);
	snprintf(msg, sizeof(msg),
	         "email \"%s\" (notification %s) was not delivered: %.400s",
	         j->key ? j->key : "?", id, why);
	rc = alert_raise(j->t, "email_failed", "email_template",
	                 j->key ? j->key : "unknown", msg, d);
	return rc < 0 ? -1 : 0;
}

/*
 * Marks the job failed (idx MAIL_FAIL: by claim token; MAIL_ABANDON: a
 * row the caller's transaction locked) and raises the alert, in one
 * transaction unless the caller already holds one.
 */
static int
finish_failed(struct job *j, int idx, const char *why)
{
	char err[ERROR_MAX + 1];
	struct dbres res;
	int own = !db_in_transaction(j->m->db);
	int rc;

	clean_error(why, err, sizeof(err));
	if (own && db_begin(j->m->db) < 0)
		return -1;
	if (idx == MAIL_FAIL)
		rc = jq(j, MAIL_FAIL,
		        DB_ARGS(DBS(err), DBI(j->id), DBS(j->token)), &res);
	else
		rc = jq(j, MAIL_ABANDON, DB_ARGS(DBS(err), DBI(j->id)), &res);
	if (rc < 0 || (res.affected == 1 && raise_alert(j, err) < 0))
		goto out_rollback;
	if (own && db_commit(j->m->db) < 0)
		return -1;
	if (res.affected != 1) {
		j->m->stats.lost++;
		log_warn("mail claim lost: notification %" PRId64
		         " was taken over before it failed",
		         j->id);
		return 0;
	}
	j->m->stats.failed++;
	log_warn("mail failed: %s notification %" PRId64 " tenant %" PRId64
	         " after %d attempts: %s",
	         j->platform ? "platform" : "tenant", j->id, j->tenant,
	         j->attempts, err);
	return 0;

out_rollback:
	if (own)
		db_rollback(j->m->db);
	return -1;
}

/* A failed attempt: queued again with back-off, or failed for good. */
static int
finish_retry(struct job *j, const char *why)
{
	char err[ERROR_MAX + 1];
	struct dbres res;
	int64_t delay = j->m->cfg->mail_retry_seconds;

	if (j->attempts >= MAILER_MAX_ATTEMPTS)
		return finish_failed(j, MAIL_FAIL, why);
	for (int i = 1; i < j->attempts; i++)
		delay *= 4;
	clean_error(why, err, sizeof(err));
	if (jq(j, MAIL_RETRY,
	       DB_ARGS(DBI(delay), DBS(err), DBI(j->id), DBS(j->token)),
	       &res) < 0)
		return -1;
	if (res.affected != 1) {
		j->m->stats.lost++;
		log_warn("mail claim lost: notification %" PRId64, j->id);
		return 0;
	}
	j->m->stats.retried++;
	log_info("mail retry: notification %" PRId64 " tenant %" PRId64
	         " attempt %d failed, next in %" PRId64 "s: %s",
	         j->id, j->tenant, j->attempts, delay, err);
	return 0;
}

static int
finish_sent(struct job *j)
{
	struct dbres res;

	if (jq(j, MAIL_SENT, DB_ARGS(DBI(j->id), DBS(j->token)), &res) < 0)
		return -1;
	if (res.affected != 1) {
		j->m->stats.lost++;
		log_warn("mail claim lost: notification %" PRId64
		         " was sent but taken over meanwhile",
		         j->id);
		return 0;
	}
	j->m->stats.sent++;
	log_debug("mail sent: notification %" PRId64 " tenant %" PRId64, j->id,
	          j->tenant);
	return 0;
}

/* ---- claiming ------------------------------------------------------------ */

/*
 * Reads up to CANDIDATES due ids of the job's queue without locking
 * them: expired leases first, then queued rows (see lib/store/mail.c for
 * why the locks are taken by key afterwards).  0 or -1.
 */
static int
refill(struct job *j, struct candidates *c)
{
	struct mailer *m = j->m;
	int order[2] = {MAIL_PICK_EXPIRED, MAIL_PICK_QUEUED};
	int gorder[2] = {MAIL_G_PICK_EXPIRED, MAIL_G_PICK_QUEUED};

	c->n = c->next = 0;
	for (int i = 0; i < 2 && c->n < CANDIDATES; i++) {
		int64_t want = (int64_t)(CANDIDATES - c->n);
		struct dbres ids;
		int rc;

		if (j->platform)
			rc = db_query(m->db, &m->a,
			              &store_mail_platform_stmts[order[i]],
			              DB_ARGS(DBI(want)), &ids);
		else if (m->scope == MAILER_TENANT)
			rc = tdb_query(j->t, &store_mail_stmts[order[i]],
			               DB_ARGS(DBI(want)), &ids);
		else
			rc = db_query(m->db, &m->a,
			              &store_mail_global_stmts[gorder[i]],
			              DB_ARGS(DBI(want)), &ids);
		if (rc < 0)
			return -1;
		for (size_t r = 0; r < ids.nrows && c->n < CANDIDATES; r++)
			c->id[c->n++] = dbres_int(&ids, r, 0);
	}
	return 0;
}

/*
 * Locks the next candidate that is still due and not locked by another
 * mailer, inside the claim transaction.  1 locked (row holds it), 0 the
 * candidates ran out, -1 error.
 */
static int
pick(struct job *j, struct candidates *c, struct dbres *row)
{
	struct mailer *m = j->m;

	while (c->next < c->n) {
		int64_t id = c->id[c->next++];
		int rc;

		if (j->platform)
			rc = db_query(m->db, &m->a,
			              &store_mail_platform_stmts[MAIL_LOCK],
			              DB_ARGS(DBI(id)), row);
		else if (m->scope == MAILER_TENANT)
			rc = tdb_query(j->t, &store_mail_stmts[MAIL_LOCK],
			               DB_ARGS(DBI(id)), row);
		else
			rc = db_query(m->db, &m->a,
			              &store_mail_global_stmts[MAIL_G_LOCK],
			              DB_ARGS(DBI(id)), row);
		if (rc < 0)
			return -1;
		if (row->nrows == 1)
			return 1;
	}
	return 0;
}

/*
 * The claim transaction.  1 claimed (the job holds it, send next), 2 the
 * row was settled without sending (abandoned), 0 nothing due, -1 error.
 */
static int
claim(struct job *j)
{
	struct mailer *m = j->m;
	unsigned char rnd[16];
	char msgid[MAIL_MESSAGE_ID_MAX + 1];
	int64_t interrupted;
	struct dbres row, res;
	int expired, started, rc;

	struct candidates *c = &m->cand[j->platform];

	if (!j->platform && m->scope == MAILER_TENANT) {
		j->t = tdb_open(m->db, &m->a, m->tenant);
		if (!j->t)
			return -1;
	}
	/*
	 * A fresh candidate list whose rows were all taken by other mailers
	 * meanwhile is read again, a few times at most: then this mailer
	 * says nothing is due and polls later.
	 */
	for (int round = 0;; round++) {
		if (c->next >= c->n) {
			if (round >= 3 || refill(j, c) < 0)
				return round >= 3 ? 0 : -1;
			if (c->n == 0)
				return 0;
		}
		if (db_begin(m->db) < 0)
			return -1;
		rc = pick(j, c, &row);
		if (rc == 1)
			break;
		db_rollback(m->db);
		if (rc < 0)
			return -1;
	}
	j->id = cell_int(&row, "id");
	j->tenant = cell_int(&row, "tenant_id");
	j->attempts = (int)cell_int(&row, "attempts");
	j->key = cell(&row, "template_key");
	if (!j->platform && !j->t) {
		j->t = tdb_open(m->db, &m->a, j->tenant);
		if (!j->t)
			goto out_rollback;
	}
	expired = strcmp(cell(&row, "status"), "sending") == 0;
	started = cell_int(&row, "started") != 0;
	interrupted = cell_int(&row, "interrupted");
	if (expired && started && interrupted >= 1) {
		/* The second send whose outcome nobody saw: stop here. */
		if (finish_failed(
		        j, MAIL_ABANDON,
		        "sending was interrupted twice before its "
		        "outcome was recorded; not sent again, so "
		        "that it is never delivered more than twice") < 0 ||
		    db_commit(m->db) < 0)
			goto out_rollback;
		return 2;
	}
	if (expired && j->attempts >= MAILER_MAX_ATTEMPTS) {
		if (finish_failed(j, MAIL_ABANDON,
		                  "the last attempt was interrupted before its "
		                  "outcome was recorded; no attempts left") <
		        0 ||
		    db_commit(m->db) < 0)
			goto out_rollback;
		return 2;
	}
	if (expired)
		log_warn("mail lease expired: notification %" PRId64
		         " tenant %" PRId64
		         " was being sent by a mailer that stopped; sending "
		         "it again with the same Message-ID",
		         j->id, j->tenant);
	if (random_bytes(rnd, sizeof(rnd)) < 0 ||
	    mail_message_id(j->tenant, j->id, m->domain, msgid, sizeof(msgid)) <
	        0)
		goto out_rollback;
	hex_encode(rnd, sizeof(rnd), j->token);
	if (jq(j, MAIL_START,
	       DB_ARGS(DBS(j->token), DBI(interrupted + (expired && started)),
	               DBI(m->cfg->mail_lease_seconds), DBS(msgid), DBI(j->id)),
	       &res) < 0 ||
	    res.affected != 1)
		goto out_rollback;
	if (db_commit(m->db) < 0)
		return -1;
	j->claimed_usec = now_usec();
	j->attempts++;
	return 1;

out_rollback:
	db_rollback(m->db);
	return -1;
}

/* ---- building and sending ------------------------------------------------ */

/* Everything a message needs, read after the claim. */
struct prepared {
	const char *to_email, *to_name, *from_email, *from_name, *message_id;
	struct mail_server server;
	char password[PASSWORD_MAX];
};

/*
 * The server and sender for the job: the tenant's own SMTP settings when
 * it has them, else the platform's.  0, 1 when the job cannot be sent
 * until the configuration changes (why says it), -1 database error.
 */
static int
choose_server(struct job *j, struct prepared *p, const char *tenant_name,
              char *why, size_t whylen)
{
	const struct config *c = j->m->cfg;
	struct mail_server *s = &p->server;
	struct dbres set;

	s->connect_timeout = c->smtp_connect_timeout_seconds;
	s->timeout = c->smtp_timeout_seconds;
	s->helo_domain = j->m->domain;
	s->ca_file = c->smtp_ca_file;
	if (!j->platform) {
		if (tdb_query(j->t, &store_mail_stmts[MAIL_SMTP_GET], DB_NOARGS,
		              &set) < 0)
			return -1;
		if (set.nrows == 1) {
			int col = dbres_col(&set, "password_enc");
			const char *enc = dbres_get(&set, 0, (size_t)col);
			char aad[48];

			s->host = cell(&set, "host");
			s->port = (int)cell_int(&set, "port");
			s->security = (enum mail_security)mail_security_parse(
			    cell(&set, "security"));
			s->username = cell(&set, "username");
			s->verify_tls = cell_int(&set, "verify_tls") != 0;
			s->ca_file = NULL;
			p->from_email = cell(&set, "from_email");
			p->from_name = cell(&set, "from_name");
			if (!p->from_name)
				p->from_name = tenant_name;
			if ((int)s->security < 0) {
				snprintf(why, whylen,
				         "the tenant's smtp "
				         "security is unknown");
				return 1;
			}
			s->password = NULL;
			if (enc) {
				snprintf(aad, sizeof(aad),
				         "tenant:%" PRId64 ":smtp", j->tenant);
				if (crypto_open(c, aad,
				                (const unsigned char *)enc,
				                set.lens[col], p->password,
				                sizeof(p->password)) < 0) {
					snprintf(why, whylen,
					         "the tenant's smtp password "
					         "does not open with the data "
					         "key");
					return 1;
				}
				s->password = p->password;
			}
			return 0;
		}
	}
	if (!c->smtp_host[0]) {
		snprintf(why, whylen,
		         "no smtp server: smtp_host is not "
		         "configured and the tenant has none");
		return 1;
	}
	s->host = c->smtp_host;
	s->port = c->smtp_port;
	s->security = j->m->security;
	s->username = c->smtp_username;
	s->password = j->m->password;
	s->verify_tls = c->smtp_verify_tls;
	p->from_email = c->smtp_from;
	/* Tenant mail from the platform's address carries the ISP's name. */
	p->from_name = tenant_name ? tenant_name : c->smtp_from_name;
	return 0;
}

/* The template's variables: the payload plus tenant and recipient names. */
static cJSON *
variables(struct job *j, const char *payload, const char *tenant_name,
          const char *recipient_name)
{
	cJSON *vars = NULL;

	if (payload &&
	    json_parse(&j->m->a, payload, strlen(payload), &vars) != JSON_OK)
		vars = NULL;
	if (!cJSON_IsObject(vars))
		vars = json_own(&j->m->a, cJSON_CreateObject());
	if (!vars)
		return NULL;
	if (tenant_name &&
	    !cJSON_GetObjectItemCaseSensitive(vars, "tenant_name"))
		cJSON_AddStringToObject(vars, "tenant_name", tenant_name);
	if (recipient_name &&
	    !cJSON_GetObjectItemCaseSensitive(vars, "recipient_name"))
		cJSON_AddStringToObject(vars, "recipient_name", recipient_name);
	return vars;
}

/*
 * Reads, renders, builds and sends the claimed job, then finishes it.
 * 0 when the row was finished (any outcome), -1 on a database error
 * (the row stays claimed and its lease runs out).
 */
static int
deliver(struct job *j)
{
	struct mailer *m = j->m;
	struct dbres row, rcpt, ten, tpl;
	struct buf subject = BUF_INIT(4096), text = BUF_INIT(1024 * 1024),
	           html = BUF_INIT(1024 * 1024),
	           msg = BUF_INIT(4 * 1024 * 1024);
	struct prepared p;
	struct mail_msg mm;
	struct mail_result res;
	const char *tenant_name = NULL;
	char why[400] = "";
	cJSON *vars;
	int64_t uid;
	int rc = -1, r;

	memset(&p, 0, sizeof(p));
	if (jq(j, MAIL_GET, DB_ARGS(DBI(j->id), DBS(j->token)), &row) < 0)
		goto out;
	if (row.nrows != 1) {
		/* The tenant (and its queue) went away meanwhile. */
		rc = 0;
		goto out;
	}
	j->key = cell(&row, "template_key");
	p.message_id = cell(&row, "message_id");
	uid = cell_int(&row, "recipient_user_id");
	p.to_email = cell(&row, "recipient_email");
	if (uid > 0) {
		if (jq(j, MAIL_RECIPIENT, DB_ARGS(DBI(uid)), &rcpt) < 0)
			goto out;
		if (rcpt.nrows != 1 || cell_int(&rcpt, "active") == 0) {
			rc = finish_failed(j, MAIL_FAIL,
			                   "the recipient is no longer an "
			                   "active user");
			goto out;
		}
		p.to_email = cell(&rcpt, "email");
		p.to_name = cell(&rcpt, "name");
	}
	if (!p.to_email || !mail_address_ok(p.to_email)) {
		rc = finish_failed(j, MAIL_FAIL,
		                   p.to_email ? "the recipient's address is "
		                                "not a plain email address"
		                              : "the notification has no "
		                                "recipient");
		goto out;
	}
	if (jq(j, MAIL_TENANT, DB_NOARGS, &ten) < 0)
		goto out;
	tenant_name = cell(&ten, "name");
	if (jq(j, MAIL_TEMPLATE, DB_ARGS(DBS(j->key), DBS(j->key)), &tpl) < 0)
		goto out;
	if (tpl.nrows != 1) {
		snprintf(why, sizeof(why), "no template for key \"%s\"",
		         j->key);
		rc = finish_failed(j, MAIL_FAIL, why);
		goto out;
	}
	vars = variables(j, cell(&row, "payload"), tenant_name, p.to_name);
	if (!vars ||
	    template_render(cell(&tpl, "subject"), TEMPLATE_SUBJECT, vars,
	                    &subject, why, sizeof(why)) < 0 ||
	    template_render(cell(&tpl, "body_text"), TEMPLATE_TEXT, vars, &text,
	                    why, sizeof(why)) < 0 ||
	    template_render(cell(&tpl, "body_html"), TEMPLATE_HTML, vars, &html,
	                    why, sizeof(why)) < 0) {
		rc = finish_failed(j, MAIL_FAIL,
		                   why[0] ? why : "out of memory rendering");
		goto out;
	}
	r = choose_server(j, &p, tenant_name, why, sizeof(why));
	if (r < 0)
		goto out;
	if (r > 0) {
		rc = finish_retry(j, why);
		goto out;
	}
	mm = (struct mail_msg){
	    .from_email = p.from_email,
	    .from_name = p.from_name,
	    .to_email = p.to_email,
	    .to_name = p.to_name,
	    .subject = subject.s,
	    .text = text.s,
	    .html = html.s,
	    .message_id = p.message_id,
	    .date = time(NULL),
	};
	if (mail_build(&mm, &msg, why, sizeof(why)) < 0) {
		rc = finish_failed(j, MAIL_FAIL, why);
		goto out;
	}
	/*
	 * The lease must outlast the whole send.  Should the reads since
	 * the claim have stalled so long that it might not, the row is
	 * given back unsent rather than risk a second sender.
	 */
	if ((now_usec() - j->claimed_usec) / 1000000 +
	        m->cfg->smtp_connect_timeout_seconds +
	        m->cfg->smtp_timeout_seconds + 5 >
	    m->cfg->mail_lease_seconds) {
		rc = finish_retry(j, "the claim grew too old before sending "
		                     "(the database was slow); not sent");
		goto out;
	}
	if (mail_send(m->conn, &p.server, p.from_email, p.to_email, msg.s,
	              msg.len, &res) == 0)
		rc = finish_sent(j);
	else
		rc = finish_retry(j, res.error);

out:
	explicit_bzero(p.password, sizeof(p.password));
	buf_release(&subject);
	buf_release(&text);
	buf_release(&html);
	buf_release(&msg);
	return rc;
}

/* One row of one queue: 1 handled, 0 nothing due, -1 database error. */
static int
step_queue(struct mailer *m, int platform)
{
	struct job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.m = m;
	j.platform = platform;
	arena_reset(&m->a);
	rc = claim(&j);
	if (rc == 1)
		return deliver(&j) < 0 ? -1 : 1;
	return rc == 2 ? 1 : rc;
}

int
mailer_step(struct mailer *m)
{
	int rc;

	switch (m->scope) {
	case MAILER_TENANT:
		return step_queue(m, 0);
	case MAILER_PLATFORM:
		return step_queue(m, 1);
	case MAILER_ALL:
		break;
	}
	/* Both queues take turns, so neither starves the other. */
	m->platform_turn = !m->platform_turn;
	rc = step_queue(m, m->platform_turn);
	if (rc == 0)
		rc = step_queue(m, !m->platform_turn);
	return rc;
}

long
mailer_drain(struct mailer *m, volatile sig_atomic_t *stop)
{
	long n = 0;

	while (!(stop && *stop)) {
		int rc = mailer_step(m);

		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		n++;
	}
	return n;
}

/* ---- settings ------------------------------------------------------------ */

int
mailer_smtp_get(struct tdb *t, struct arena *a, cJSON **out)
{
	struct dbres res;
	cJSON *o;

	*out = NULL;
	if (tdb_query(t, &store_mail_stmts[MAIL_SMTP_GET], DB_NOARGS, &res) < 0)
		return -1;
	if (res.nrows == 0)
		return 0;
	/* Binary columns are left out of dbres_row_json(): no password. */
	o = json_own(a, dbres_row_json(&res, 0, NULL));
	if (!o)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "password_enc");
	cJSON_AddBoolToObject(o, "password_set",
	                      cell(&res, "password_enc") != NULL);
	*out = o;
	return 1;
}

static int
refuse(struct mailer_field_error *e, const char *field, const char *msg)
{
	e->field = field;
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return 0;
}

/* Printable text of 1..max characters without control characters. */
static int
line_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || !utf8_valid(s, n) || utf8_len(s, n) > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
mailer_smtp_put(struct tdb *t, const struct config *c,
                const struct mailer_smtp_input *in,
                struct mailer_field_error *e)
{
	unsigned char sealed[SEALED_MAX];
	const char *user =
	    in->username && in->username[0] ? in->username : NULL;
	char aad[48], hostcheck[MAIL_ADDR_MAX + 1];
	int sec = mail_security_parse(in->security);
	long n;

	e->field = NULL;
	e->message[0] = '\0';
	/* A host is valid where an address's domain would be. */
	snprintf(hostcheck, sizeof(hostcheck), "x@%s",
	         in->host ? in->host : "");
	if (!in->host ||
	    (!mail_address_ok(hostcheck) &&
	     strspn(in->host, "0123456789abcdefABCDEF:.") !=
	         strlen(in->host)) ||
	    !in->host[0])
		return refuse(e, "host", "must be a host name or IP address");
	if (in->port < 1 || in->port > 65535)
		return refuse(e, "port", "must be 1 to 65535");
	if (sec < 0)
		return refuse(e, "security",
		              "must be starttls, starttls_optional, tls or "
		              "none");
	if (user && !line_ok(user, 254))
		return refuse(e, "username", "must be 1 to 254 characters");
	if (in->set_password && in->password &&
	    strlen(in->password) >= PASSWORD_MAX)
		return refuse(e, "password", "must be at most 255 bytes");
	if (user && (sec == MAIL_PLAIN || sec == MAIL_STARTTLS_OPTIONAL))
		return refuse(e, "security",
		              "must be starttls or tls when a username is "
		              "set: credentials only travel over TLS");
	if (!mail_address_ok(in->from_email))
		return refuse(e, "from_email", "must be an email address");
	if (in->from_name && in->from_name[0] && !line_ok(in->from_name, 100))
		return refuse(e, "from_name",
		              "must be 1 to 100 characters on one line");
	if (tdb_query(
	        t, &store_mail_stmts[MAIL_SMTP_PUT],
	        DB_ARGS(DBS(in->host), DBI(in->port), DBS(in->security),
	                DBS(user), DBS(in->from_email),
	                DBS(in->from_name && in->from_name[0] ? in->from_name
	                                                      : NULL),
	                DBI(in->verify_tls ? 1 : 0)),
	        NULL) < 0)
		return -1;
	if (!in->set_password)
		return 1;
	if (!in->password || !in->password[0])
		return tdb_query(t, &store_mail_stmts[MAIL_SMTP_SET_PASSWORD],
		                 DB_ARGS(DBNULL('b')), NULL) < 0
		           ? -1
		           : 1;
	snprintf(aad, sizeof(aad), "tenant:%" PRId64 ":smtp", tdb_tenant(t));
	n = crypto_seal(c, aad, in->password, strlen(in->password), sealed,
	                sizeof(sealed));
	if (n < 0)
		return -1;
	n = tdb_query(t, &store_mail_stmts[MAIL_SMTP_SET_PASSWORD],
	              DB_ARGS(DBB(sealed, (size_t)n)), NULL);
	explicit_bzero(sealed, sizeof(sealed));
	return n < 0 ? -1 : 1;
}

int
mailer_smtp_delete(struct tdb *t)
{
	struct dbres res;

	if (tdb_query(t, &store_mail_stmts[MAIL_SMTP_DELETE], DB_NOARGS, &res) <
	    0)
		return -1;
	return res.affected > 0 ? 1 : 0;
}

int
mailer_template_list(struct tdb *t, struct arena *a, cJSON **out)
{
	struct dbres res;
	cJSON *arr;

	*out = NULL;
	if (tdb_query(t, &store_mail_stmts[MAIL_TEMPLATE_LIST], DB_NOARGS,
	              &res) < 0)
		return -1;
	arr = json_own(a, cJSON_CreateArray());
	if (!arr)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		cJSON *o = dbres_row_json(&res, i, NULL), *v;
		const struct template_key *k;

		if (!o)
			return -1;
		cJSON_AddItemToArray(arr, o);
		/* "key" as API.md names it; the column is template_key. */
		v = cJSON_DetachItemFromObjectCaseSensitive(o, "template_key");
		if (v)
			cJSON_AddItemToObject(o, "key", v);
		k = template_key_find(v ? v->valuestring : NULL);
		v = cJSON_AddArrayToObject(o, "variables");
		for (size_t n = 0; k && v && k->variables[n]; n++)
			cJSON_AddItemToArray(
			    v, cJSON_CreateString(k->variables[n]));
	}
	*out = arr;
	return 0;
}

int
mailer_template_put(struct tdb *t, const char *key, const char *subject,
                    const char *body_html, const char *body_text,
                    struct template_error *e)
{
	switch (template_validate(key, subject, body_html, body_text, e)) {
	case -1:
		return 0;
	case 0:
		return 0;
	default:
		break;
	}
	if (tdb_query(
	        t, &store_mail_stmts[MAIL_TEMPLATE_PUT],
	        DB_ARGS(DBS(key), DBS(subject), DBS(body_html), DBS(body_text)),
	        NULL) < 0)
		return -1;
	return 1;
}
