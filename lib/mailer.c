#include "mailer.h"

#include <arpa/inet.h>
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
#include "json.h"
#include "log.h"
#include "mail.h"
#include "store/mail.h"
#include "tdb.h"
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
	struct mail_q q; /* q.t is the row's tenant once it is known */
	int64_t tenant;  /* 0 for platform mail */
	int64_t id;
	char token[33];
	const char *key;
	int attempts;
	int64_t claimed_usec; /* monotonic time of the claim's commit */
};

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
	char msg[500];
	cJSON *d;

	if (j->q.platform)
		return 0;
	d = json_own(&j->m->a, cJSON_CreateObject());
	if (!d)
		return -1;
	json_add_int(d, "notification_id", j->id);
	cJSON_AddStringToObject(d, "template_key", j->key ? j->key : "");
	json_add_int(d, "attempts", j->attempts);
	cJSON_AddStringToObject(d, "error", why);
	snprintf(msg, sizeof(msg),
	         "email \"%s\" (notification %" PRId64
	         ") was not delivered: %.400s",
	         j->key ? j->key : "?", j->id, why);
	return alert_raise(j->q.t, "email_failed", "email_template",
	                   j->key ? j->key : "unknown", msg, d) < 0
	           ? -1
	           : 0;
}

/*
 * Marks the job failed (by its claim token, or with abandon a row that
 * the caller's claim transaction locked) and raises the alert, in one
 * transaction unless the caller already holds one.
 */
static int
finish_failed(struct job *j, int abandon, const char *why)
{
	char err[ERROR_MAX + 1];
	int own = !db_in_transaction(j->m->db);
	int rc;

	clean_error(why, err, sizeof(err));
	if (own && db_begin(j->m->db) < 0)
		return -1;
	rc = abandon ? store_mail_abandon(&j->q, j->id, err)
	             : store_mail_fail(&j->q, j->id, j->token, err);
	if (rc < 0 || (rc == 1 && raise_alert(j, err) < 0))
		goto out_rollback;
	if (own && db_commit(j->m->db) < 0)
		return -1;
	if (rc == 0) {
		j->m->stats.lost++;
		log_warn("mail claim lost: notification %" PRId64
		         " was taken over before it failed",
		         j->id);
		return 0;
	}
	j->m->stats.failed++;
	log_warn("mail failed: %s notification %" PRId64 " tenant %" PRId64
	         " after %d attempts: %s",
	         j->q.platform ? "platform" : "tenant", j->id, j->tenant,
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
	int64_t delay = j->m->cfg->mail_retry_seconds;
	int rc;

	if (j->attempts >= MAILER_MAX_ATTEMPTS)
		return finish_failed(j, 0, why);
	for (int i = 1; i < j->attempts; i++)
		delay *= 4;
	clean_error(why, err, sizeof(err));
	rc = store_mail_retry(&j->q, j->id, j->token, delay, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
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
	int rc = store_mail_sent(&j->q, j->id, j->token);

	if (rc < 0)
		return -1;
	if (rc == 0) {
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
	c->n = c->next = 0;
	for (int expired = 1; expired >= 0 && c->n < CANDIDATES; expired--) {
		struct rows ids;

		if (store_mail_due(&j->q, expired, (int64_t)(CANDIDATES - c->n),
		                   &ids) < 0)
			return -1;
		for (size_t r = 0; r < ids.n && c->n < CANDIDATES; r++) {
			const struct mail_due *d = rows_at(&ids, r);

			c->id[c->n++] = d->id;
		}
	}
	return 0;
}

/*
 * Locks the next candidate that is still due and not locked by another
 * mailer, inside the claim transaction.  1 locked (row holds it), 0 the
 * candidates ran out, -1 error.
 */
static int
pick(struct job *j, struct candidates *c, struct mail_claim *row)
{
	while (c->next < c->n) {
		int rc = store_mail_lock(&j->q, c->id[c->next++], row);

		if (rc != 0)
			return rc;
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
	struct candidates *c = &m->cand[j->q.platform];
	char msgid[MAIL_MESSAGE_ID_MAX + 1];
	unsigned char rnd[16];
	struct mail_claim row;
	int expired, rc;

	if (!j->q.platform && m->scope == MAILER_TENANT) {
		j->q.t = tdb_open(m->db, &m->a, m->tenant);
		if (!j->q.t)
			return -1;
	}
	/*
	 * A fresh candidate list whose rows were all taken by other mailers
	 * meanwhile is read again, a few times at most: then this mailer
	 * says nothing is due and polls later.
	 */
	for (int round = 0;; round++) {
		if (c->next >= c->n) {
			if (round >= 3)
				return 0;
			if (refill(j, c) < 0)
				return -1;
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
	j->id = row.id;
	j->tenant = row.tenant_id;
	j->attempts = (int)row.attempts;
	j->key = row.template_key;
	/* A mailer of every tenant learns the row's tenant from its claim. */
	if (!j->q.platform && !j->q.t) {
		j->q.t = tdb_open(m->db, &m->a, j->tenant);
		if (!j->q.t)
			goto out_rollback;
	}
	expired = strcmp(row.status, "sending") == 0;
	if (expired && row.started && row.interrupted >= 1) {
		/* The second send whose outcome nobody saw: stop here. */
		if (finish_failed(
		        j, 1,
		        "sending was interrupted twice before its "
		        "outcome was recorded; not sent again, so "
		        "that it is never delivered more than twice") < 0 ||
		    db_commit(m->db) < 0)
			goto out_rollback;
		return 2;
	}
	if (expired && j->attempts >= MAILER_MAX_ATTEMPTS) {
		if (finish_failed(j, 1,
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
	if (store_mail_start(&j->q, j->id, j->token,
	                     row.interrupted + (expired && row.started),
	                     m->cfg->mail_lease_seconds, msgid) < 0)
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
	struct mail_smtp set;
	char aad[48];
	int rc, sec;

	s->connect_timeout = c->smtp_connect_timeout_seconds;
	s->timeout = c->smtp_timeout_seconds;
	s->helo_domain = j->m->domain;
	s->ca_file = c->smtp_ca_file;
	rc = j->q.platform ? 0 : store_mail_smtp_get(j->q.t, &set);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		sec = mail_security_parse(set.security);
		if (sec < 0) {
			snprintf(why, whylen,
			         "the tenant's smtp security is unknown");
			return 1;
		}
		s->host = set.host;
		s->port = (int)set.port;
		s->security = (enum mail_security)sec;
		s->username = set.username;
		s->verify_tls = set.verify_tls;
		s->ca_file = NULL;
		s->password = NULL;
		p->from_email = set.from_email;
		p->from_name = set.from_name ? set.from_name : tenant_name;
		if (set.password_enc.p) {
			snprintf(aad, sizeof(aad), "tenant:%" PRId64 ":smtp",
			         j->tenant);
			if (crypto_open(c, aad, set.password_enc.p,
			                set.password_enc.n, p->password,
			                sizeof(p->password)) < 0) {
				snprintf(why, whylen,
				         "the tenant's smtp password does not "
				         "open with the data key");
				return 1;
			}
			s->password = p->password;
		}
		return 0;
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
 * Renders the parts of tpl into subject, text and html; a body the
 * template does not have stays NULL in *text or *html.  0, or -1 with a
 * sentence in why.
 */
static int
render(const struct mail_template_text *tpl, const cJSON *vars,
       struct buf *subject, struct buf *text, struct buf *html,
       const char **text_out, const char **html_out, char *why, size_t whylen)
{
	*text_out = *html_out = NULL;
	if (template_render(tpl->subject, TEMPLATE_SUBJECT, vars, subject, why,
	                    whylen) < 0)
		return -1;
	if (tpl->body_text) {
		if (template_render(tpl->body_text, TEMPLATE_TEXT, vars, text,
		                    why, whylen) < 0)
			return -1;
		*text_out = text->s;
	}
	if (tpl->body_html) {
		if (template_render(tpl->body_html, TEMPLATE_HTML, vars, html,
		                    why, whylen) < 0)
			return -1;
		*html_out = html->s;
	}
	if (!*text_out && !*html_out) {
		snprintf(why, whylen, "the template has no body");
		return -1;
	}
	return 0;
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
	struct buf subject = BUF_INIT(4096), text = BUF_INIT(1024 * 1024),
	           html = BUF_INIT(1024 * 1024),
	           msg = BUF_INIT(4 * 1024 * 1024);
	struct mail_template_text tpl;
	struct mail_recipient rcpt;
	struct mail_job row;
	struct prepared p;
	struct mail_msg mm;
	struct mail_result res;
	const char *tenant_name = NULL, *text_s, *html_s;
	char why[TEMPLATE_ERROR_MAX] = "";
	cJSON *vars;
	int rc = -1, r;

	memset(&p, 0, sizeof(p));
	r = store_mail_get(&j->q, j->id, j->token, &row);
	if (r <= 0) {
		/* 0: the tenant (and its queue) went away meanwhile. */
		rc = r;
		goto out;
	}
	j->key = row.template_key;
	p.message_id = row.message_id;
	p.to_email = row.recipient_email;
	if (row.recipient_user_id > 0) {
		r = store_mail_recipient(&j->q, row.recipient_user_id, &rcpt);
		if (r < 0)
			goto out;
		if (r == 0 || !rcpt.active) {
			rc = finish_failed(j, 0,
			                   "the recipient is no longer an "
			                   "active user");
			goto out;
		}
		p.to_email = rcpt.email;
		p.to_name = rcpt.name;
	}
	if (!p.to_email || !mail_address_ok(p.to_email)) {
		rc = finish_failed(j, 0,
		                   p.to_email ? "the recipient's address is "
		                                "not a plain email address"
		                              : "the notification has no "
		                                "recipient");
		goto out;
	}
	if (store_mail_tenant_name(&j->q, &tenant_name) < 0)
		goto out;
	r = store_mail_template_text(&j->q, j->key, &tpl);
	if (r < 0)
		goto out;
	if (r == 0) {
		snprintf(why, sizeof(why), "no template for key \"%s\"",
		         j->key);
		rc = finish_failed(j, 0, why);
		goto out;
	}
	vars = variables(j, row.payload, tenant_name, p.to_name);
	if (!vars || render(&tpl, vars, &subject, &text, &html, &text_s,
	                    &html_s, why, sizeof(why)) < 0) {
		rc = finish_failed(j, 0,
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
	    .text = text_s,
	    .html = html_s,
	    .message_id = p.message_id,
	    .date = time(NULL),
	};
	if (mail_build(&mm, &msg, why, sizeof(why)) < 0) {
		rc = finish_failed(j, 0, why);
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
	j.q.db = m->db;
	j.q.a = &m->a;
	j.q.platform = platform;
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

/* A host name, an IPv4 address or an IPv6 literal without brackets. */
static int
host_ok(const char *host)
{
	char check[MAIL_ADDR_MAX + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	size_t n = host ? strlen(host) : 0;

	if (n == 0 || n > 253)
		return 0;
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1)
		return 1;
	/* A host name is valid where an address's domain would be. */
	snprintf(check, sizeof(check), "x@%s", host);
	return mail_address_ok(check);
}

int
mailer_smtp_put(struct tdb *t, const struct config *c,
                const struct mailer_smtp_input *in,
                const struct mail_smtp *current, struct mailer_field_error *e)
{
	unsigned char sealed[SEALED_MAX];
	const char *user =
	    in->username && in->username[0] ? in->username : NULL;
	int sec = mail_security_parse(in->security);
	int will_have_password = in->set_password
	                             ? in->password && in->password[0]
	                             : current && current->password_set;
	struct mail_smtp s;
	char aad[48];
	long n;

	e->field = NULL;
	e->message[0] = '\0';
	if (!host_ok(in->host))
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
	if (user && !will_have_password)
		return refuse(e, "password",
		              "is required with a username (none is stored)");
	if (!in->from_email || !mail_address_ok(in->from_email))
		return refuse(e, "from_email",
		              "must be a plain ASCII email address");
	if (in->from_name && in->from_name[0] && !line_ok(in->from_name, 100))
		return refuse(e, "from_name",
		              "must be 1 to 100 characters on one line");
	memset(&s, 0, sizeof(s));
	s.host = in->host;
	s.port = in->port;
	s.security = mail_security_name((enum mail_security)sec);
	s.username = user;
	s.from_email = in->from_email;
	s.from_name = in->from_name && in->from_name[0] ? in->from_name : NULL;
	s.verify_tls = in->verify_tls;
	if (store_mail_smtp_put(t, &s) < 0)
		return -1;
	if (!in->set_password)
		return 1;
	if (!in->password || !in->password[0])
		return store_mail_smtp_set_password(t, NULL, 0) < 0 ? -1 : 1;
	snprintf(aad, sizeof(aad), "tenant:%" PRId64 ":smtp", tdb_tenant(t));
	n = crypto_seal(c, aad, in->password, strlen(in->password), sealed,
	                sizeof(sealed));
	if (n >= 0)
		n = store_mail_smtp_set_password(t, sealed, (size_t)n);
	explicit_bzero(sealed, sizeof(sealed));
	return n < 0 ? -1 : 1;
}

int
mailer_template_put(struct tdb *t, const char *key, const char *subject,
                    const char *body_html, const char *body_text,
                    struct template_error *e)
{
	struct mail_template m = {.key = key,
	                          .subject = subject,
	                          .body_html = body_html,
	                          .body_text = body_text};
	int rc = template_validate(key, subject, body_html, body_text, e);

	if (rc <= 0)
		return 0;
	return store_mail_template_put(t, &m) < 0 ? -1 : 1;
}

/* clang-format off */
static const struct col template_item_cols[] = {
	COL_STR(struct mailer_template_item, key, 0),
	COL_STR(struct mailer_template_item, subject, 0),
	COL_STR(struct mailer_template_item, body_html, COL_F_NULL),
	COL_STR(struct mailer_template_item, body_text, COL_F_NULL),
	COL_STR(struct mailer_template_item, description, 0),
	COL_JSON(struct mailer_template_item, variables, 0),
	COL_TIME(struct mailer_template_item, created_at, 0),
	COL_TIME(struct mailer_template_item, updated_at, 0),
	COL_END
};
/* clang-format on */
const struct rowtype mailer_template_item_row =
    ROWTYPE(struct mailer_template_item, "email_template", template_item_cols);

int
mailer_template_item(const struct mail_template *m, struct arena *a,
                     struct mailer_template_item *out)
{
	const struct template_key *k = template_key_find(m->key);
	struct buf b = BUF_INIT(4096);

	/* Variable names are [a-z][a-z0-9_]*: nothing to escape. */
	buf_addch(&b, '[');
	for (size_t i = 0; k && k->variables[i]; i++)
		buf_addf(&b, "%s\"%s\"", i ? "," : "", k->variables[i]);
	buf_addch(&b, ']');
	*out = (struct mailer_template_item){
	    .key = m->key,
	    .subject = m->subject,
	    .body_html = m->body_html,
	    .body_text = m->body_text,
	    .description = k ? k->trigger : "",
	    .variables = arena_strdup(a, b.s),
	    .created_at = m->created_at,
	    .updated_at = m->updated_at,
	};
	buf_release(&b);
	return out->variables ? 0 : -1;
}
