#include "wsd.h"

#include <errno.h>
#include <inttypes.h>
/*
 * libwebsockets.h pulls in OpenSSL's err.h, which needs INT_MAX, and
 * -Ilib makes <limits.h> find lib/limits.h instead of the C library's.
 */
#ifndef INT_MAX
#define INT_MAX __INT_MAX__
#endif
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "auth.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "principal.h"
#include "row.h"
#include "store/event.h"
#include "store/user.h"
#include "tdb.h"
#include "util.h"

#define TENANT_BUCKETS 1024
#define TICK_US        100000 /* timers, expiry, hold: every 100 ms */
#define AUTH_MIN_MS    100
#define FLUSH_BATCHES  10 /* EVENT_AFTER batches per tenant per turn */

/* clang-format off */
/*
 * Who receives what: API.md's role matrix, read side.  Every role reads
 * customers, plans, payments, tickets, devices, routers, inventory,
 * monitoring, alerts and the dashboard; reports are operator and admin
 * only.  Speed boosts belong to the customer's service, which every role
 * reads.  A name missing here is delivered to nobody, so a new event
 * cannot leak before somebody decides who may see it.
 */
static const struct {
	const char *name;
	enum role min;
} event_roles[] = {
	{ "customer:created",    ROLE_VIEWER },
	{ "customer:updated",    ROLE_VIEWER },
	{ "customer:deleted",    ROLE_VIEWER },
	{ "payment:created",     ROLE_VIEWER },
	{ "payment:updated",     ROLE_VIEWER },
	{ "ticket:created",      ROLE_VIEWER },
	{ "ticket:updated",      ROLE_VIEWER },
	{ "device:status",       ROLE_VIEWER },
	{ "router:status",       ROLE_VIEWER },
	{ "monitoring:update",   ROLE_VIEWER },
	{ "alert:created",       ROLE_VIEWER },
	{ "speed_boost:updated", ROLE_VIEWER },
	{ "report:completed",    ROLE_OPERATOR },
	{ NULL, 0 }
};
/* clang-format on */

int
wsd_event_min_role(const char *name)
{
	for (size_t i = 0; name && event_roles[i].name; i++)
		if (strcmp(event_roles[i].name, name) == 0)
			return (int)event_roles[i].min;
	return -1;
}

/* One outgoing message, shared by every connection it is queued on. */
struct msg {
	int refs;
	size_t len;
	unsigned char data[]; /* LWS_PRE bytes of headroom, then the text */
};

struct qent {
	struct msg *m;
	struct qent *next;
};

enum conn_state {
	C_HOLD,   /* waiting WSD_RESUME_GRACE_MS for a resume */
	C_REPLAY, /* reading its backlog from the table */
	C_LIVE,   /* fed by the tenant's fan-out */
};

struct tenant;

/* Per connection: libwebsockets' per-session data, zeroed for us. */
struct conn {
	struct lws *wsi;
	struct tenant *t;
	struct conn *prev, *next; /* the tenant's connections */
	int64_t user_id;
	int role;
	time_t exp;
	int64_t cursor; /* highest id this connection was given */
	enum conn_state state;
	int64_t hold_until_us;
	struct qent *qhead, *qtail;
	size_t qlen;
	int close_code;
	const char *close_reason;
	char *rx; /* a message arriving in fragments, heap */
	size_t rxlen;
	int64_t window_us; /* start of the message-rate window */
	int msgs;
	char ip[48];
};

struct tenant {
	int64_t id;
	int64_t cursor; /* highest event id read for this tenant */
	int dirty;      /* nudged, or its head moved: read it */
	struct conn *conns;
	size_t nconns;
	struct tenant *next; /* hash chain */
};

/* The handshake being confirmed (one at a time: the loop is serial). */
struct pending {
	struct lws *wsi;
	struct principal who;
	int role;
	time_t exp;
	int64_t head; /* the tenant's last_id when the handshake began */
};

static struct wsd {
	const struct config *cfg;
	struct lws_context *ctx;
	struct db *db;
	struct arena a;  /* database results, reset per operation */
	struct arena ma; /* the client message being handled */
	struct tenant *buckets[TENANT_BUCKETS];
	size_t ntenants, nconns;
	int nudge_fd;
	int any_dirty;
	lws_sorted_usec_list_t tick;
	int64_t next_poll_us, next_auth_us;
	struct pending pend;
	volatile sig_atomic_t *stop;
	long accepted, closed;
} D;

/* ---- messages and queues --------------------------------------------- */

static struct msg *
msg_new(const char *text, size_t len)
{
	struct msg *m = xmalloc(sizeof(*m) + LWS_PRE + len + 1);

	m->refs = 0;
	m->len = len;
	memcpy(m->data + LWS_PRE, text, len);
	m->data[LWS_PRE + len] = '\0';
	return m;
}

static void
msg_unref(struct msg *m)
{
	if (--m->refs <= 0)
		free(m);
}

/* A cJSON object as a message; the object is deleted. */
static struct msg *
msg_json(cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
	struct msg *m;

	cJSON_Delete(obj);
	if (!text)
		abort();
	m = msg_new(text, strlen(text));
	cJSON_free(text);
	return m;
}

static void
queue_clear(struct conn *c)
{
	while (c->qhead) {
		struct qent *e = c->qhead;

		c->qhead = e->next;
		msg_unref(e->m);
		free(e);
	}
	c->qtail = NULL;
	c->qlen = 0;
}

/* Ends the connection with code once what is being written is out. */
static void
conn_close(struct conn *c, int code, const char *reason)
{
	if (c->close_code)
		return;
	queue_clear(c);
	c->close_code = code;
	c->close_reason = reason;
	lws_callback_on_writable(c->wsi);
}

/*
 * Queues m (taking a reference) and asks for a writable callback.  The
 * caller frees a message that ends up with no reference (a connection
 * that is closing takes none).
 */
static void
conn_send(struct conn *c, struct msg *m)
{
	struct qent *e;

	if (c->close_code)
		return;
	if (c->qlen >= WSD_QUEUE_MAX) {
		log_info("ws client too slow, closing: user %" PRId64
		         " tenant %" PRId64,
		         c->user_id, c->t ? c->t->id : 0);
		conn_close(c, 4008, "too far behind; reconnect and resume");
		return;
	}
	e = xmalloc(sizeof(*e));
	e->m = m;
	e->next = NULL;
	m->refs++;
	if (c->qtail)
		c->qtail->next = e;
	else
		c->qhead = e;
	c->qtail = e;
	c->qlen++;
	lws_callback_on_writable(c->wsi);
}

/* conn_send() of a message of this connection alone. */
static void
conn_send_own(struct conn *c, struct msg *m)
{
	conn_send(c, m);
	if (m->refs == 0)
		free(m);
}

static void
send_type(struct conn *c, const char *type)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	conn_send_own(c, msg_json(o));
}

static void
send_error(struct conn *c, const char *code, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "error");
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "message", message);
	conn_send_own(c, msg_json(o));
}

/* One event row as a server message. */
static struct msg *
event_msg(const struct event_row *e)
{
	const char *data = e->data, *at = e->created_at;
	char when[40] = "";
	cJSON *o = cJSON_CreateObject();

	if (at)
		row_time_rfc3339(at, when, sizeof(when));
	json_add_int(o, "id", e->id);
	cJSON_AddStringToObject(o, "event", e->name);
	cJSON_AddStringToObject(o, "at", when);
	/* The column is JSON the API wrote; it is embedded as it is. */
	if (data)
		cJSON_AddRawToObject(o, "data", data);
	else
		cJSON_AddNullToObject(o, "data");
	return msg_json(o);
}

/* ---- tenants --------------------------------------------------------- */

static struct tenant **
tenant_slot(int64_t id)
{
	struct tenant **p = &D.buckets[(uint64_t)id % TENANT_BUCKETS];

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

static struct tenant *
tenant_find(int64_t id)
{
	return *tenant_slot(id);
}

static void
tenant_attach(struct conn *c, int64_t tenant_id, int64_t head)
{
	struct tenant **p = tenant_slot(tenant_id), *t = *p;

	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->id = tenant_id;
		t->cursor = head;
		*p = t;
		D.ntenants++;
	}
	c->t = t;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->nconns++;
}

static void
tenant_detach(struct conn *c)
{
	struct tenant *t = c->t, **p;

	if (!t)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->t = NULL;
	if (--t->nconns > 0)
		return;
	p = tenant_slot(t->id);
	*p = t->next;
	free(t);
	D.ntenants--;
}

/* ---- reading events -------------------------------------------------- */

static int
db_failed(const char *what, int64_t tenant_id)
{
	static int64_t last_us;
	int64_t now = now_usec();

	/* One line a second is enough while the database is away. */
	if (now - last_us > 1000000) {
		log_warn("event daemon %s failed: tenant %" PRId64
		         " (database unavailable?)",
		         what, tenant_id);
		last_us = now;
	}
	return -1;
}

/*
 * Reads the tenant's new events and hands them to its live connections.
 * Keeps the tenant dirty when there is more than a turn's worth.
 */
static int
tenant_flush(struct tenant *t)
{
	struct rows res;
	struct tdb *tdb;

	t->dirty = 0;
	for (int batch = 0; batch < FLUSH_BATCHES; batch++) {
		arena_reset(&D.a);
		tdb = tdb_open(D.db, &D.a, t->id);
		if (!tdb || store_event_after(tdb, t->cursor, &res) < 0) {
			t->dirty = 1;
			return db_failed("read", t->id);
		}
		for (size_t i = 0; i < res.n; i++) {
			const struct event_row *e = rows_at(&res, i);
			int64_t id = e->id;
			int min = wsd_event_min_role(e->name);
			struct msg *m = NULL;

			t->cursor = id;
			if (min < 0)
				continue;
			for (struct conn *c = t->conns; c; c = c->next) {
				if (c->state != C_LIVE || c->cursor >= id ||
				    c->role < min)
					continue;
				if (!m)
					m = event_msg(e);
				c->cursor = id;
				conn_send(c, m);
			}
			if (m && m->refs == 0)
				free(m);
		}
		if (res.n < EVENT_AFTER_LIMIT)
			return 0;
	}
	t->dirty = 1;
	D.any_dirty = 1;
	return 0;
}

static void
flush_dirty(void)
{
	if (!D.any_dirty)
		return;
	D.any_dirty = 0;
	for (size_t b = 0; b < TENANT_BUCKETS; b++)
		for (struct tenant *t = D.buckets[b]; t; t = t->next)
			if (t->dirty)
				tenant_flush(t);
}

/*
 * One replay batch of a connection: its events above its cursor from the
 * table.  A short batch means it has caught up and goes live.
 */
static void
conn_replay(struct conn *c)
{
	struct rows res;
	struct tdb *tdb;

	arena_reset(&D.a);
	tdb = tdb_open(D.db, &D.a, c->t->id);
	if (!tdb || store_event_after(tdb, c->cursor, &res) < 0) {
		db_failed("replay", c->t->id);
		return; /* the next tick tries again */
	}
	for (size_t i = 0; i < res.n; i++) {
		const struct event_row *e = rows_at(&res, i);
		int min = wsd_event_min_role(e->name);

		c->cursor = e->id;
		if (min >= 0 && c->role >= min)
			conn_send_own(c, event_msg(e));
	}
	if (res.n < EVENT_AFTER_LIMIT)
		c->state = C_LIVE;
	else
		lws_callback_on_writable(c->wsi);
}

/*
 * Marks the served tenants whose head moved past their cursor: one query
 * over the range of tenant ids served (the heads table has a row per
 * tenant, and the daemon skips the ones it does not serve).
 */
static void
poll_heads(void)
{
	int64_t lo = INT64_MAX, hi = 0;
	struct rows res;

	for (size_t b = 0; b < TENANT_BUCKETS; b++) {
		for (struct tenant *t = D.buckets[b]; t; t = t->next) {
			if (t->id < lo)
				lo = t->id;
			if (t->id > hi)
				hi = t->id;
		}
	}
	if (hi == 0)
		return;
	arena_reset(&D.a);
	if (store_event_heads(D.db, &D.a, lo, hi, &res) < 0) {
		db_failed("head poll", lo);
		return;
	}
	for (size_t r = 0; r < res.n; r++) {
		const struct event_tenant_head *h = rows_at(&res, r);
		struct tenant *x = tenant_find(h->tenant_id);

		if (x && h->last_id > x->cursor) {
			x->dirty = 1;
			D.any_dirty = 1;
		}
	}
}

/* ---- who is still allowed -------------------------------------------- */

/* Applies the tenant's users rows to its connections. */
static void
apply_users(struct tenant *t, const struct rows *res)
{
	for (struct conn *c = t->conns; c; c = c->next) {
		int found = 0;

		if (c->close_code)
			continue;
		for (size_t r = 0; r < res->n; r++) {
			const struct event_user *u = rows_at(res, r);
			int role = role_parse(u->role);

			if (u->id != c->user_id)
				continue;
			if (u->active && role > ROLE_PUBLIC &&
			    role < ROLE_PLATFORM) {
				found = 1;
				c->role = role;
			}
		}
		if (!found) {
			log_info("ws closing: user %" PRId64 " tenant %" PRId64
			         " is no longer active",
			         c->user_id, t->id);
			conn_close(c, 4003, "the account is no longer active");
		}
	}
}

/*
 * Re-reads the users of every tenant with connections (a tenant has tens
 * of users: one read each, whoever of them is connected).
 */
static void
recheck_users(void)
{
	for (size_t b = 0; b < TENANT_BUCKETS; b++) {
		for (struct tenant *t = D.buckets[b]; t; t = t->next) {
			struct rows res;
			struct tdb *tdb;

			if (!t->conns)
				continue;
			arena_reset(&D.a);
			tdb = tdb_open(D.db, &D.a, t->id);
			if (!tdb || store_event_users(tdb, &res) < 0) {
				db_failed("user check", t->id);
				return;
			}
			apply_users(t, &res);
		}
	}
}

/* ---- the timer ------------------------------------------------------- */

static void
tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = now_usec();
	time_t secs = time(NULL);
	long leeway = D.cfg->jwt_leeway_seconds;

	(void)sul;
	if (now >= D.next_poll_us) {
		poll_heads();
		D.next_poll_us = now + (int64_t)D.cfg->events_poll_ms * 1000;
	}
	if (now >= D.next_auth_us) {
		int ms = D.cfg->auth_cache_ms;

		recheck_users();
		D.next_auth_us =
		    now + (int64_t)(ms < AUTH_MIN_MS ? AUTH_MIN_MS : ms) * 1000;
	}
	for (size_t b = 0; b < TENANT_BUCKETS; b++) {
		for (struct tenant *t = D.buckets[b]; t; t = t->next) {
			for (struct conn *c = t->conns; c; c = c->next) {
				if (c->close_code)
					continue;
				/* The same leeway as the REST API grants. */
				if ((long)c->exp + leeway < (long)secs) {
					conn_close(c, 4001,
					           "the access token expired");
					continue;
				}
				if (c->state == C_HOLD &&
				    now >= c->hold_until_us)
					c->state = C_REPLAY;
				/*
				 * A replay goes on as the queue drains; one
				 * whose read failed is retried from here.
				 */
				if (c->state == C_REPLAY && !c->qhead)
					lws_callback_on_writable(c->wsi);
			}
		}
	}
	flush_dirty();
	lws_sul_schedule(D.ctx, 0, &D.tick, tick, TICK_US);
}

/* ---- the handshake --------------------------------------------------- */

/* Answers the HTTP request with status and a JSON error; 1, or -1. */
static int
http_reply(struct lws *wsi, unsigned status, const char *code,
           const char *message)
{
	unsigned char head[LWS_PRE + 512], *start = head + LWS_PRE, *p = start;
	unsigned char *end = head + sizeof(head) - 1;
	unsigned char body[LWS_PRE + 512];
	int n;

	n = snprintf((char *)body + LWS_PRE, sizeof(body) - LWS_PRE,
	             "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
	             message);
	if (n < 0 || (size_t)n >= sizeof(body) - LWS_PRE)
		return -1;
	if (lws_add_http_common_headers(wsi, status,
	                                "application/json; charset=utf-8",
	                                (lws_filepos_t)n, &p, end) ||
	    (status == 401 &&
	     lws_add_http_header_by_name(
	         wsi, (const unsigned char *)"www-authenticate:",
	         (const unsigned char *)"Bearer", 6, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (lws_write(wsi, body + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL) !=
	    n)
		return -1;
	return 1;
}

/* Copies a token that fits, or makes out empty (it then fails to verify). */
static void
copy_token(char *out, size_t outlen, const char *tok)
{
	size_t n = strlen(tok);

	if (n >= outlen)
		n = 0;
	memcpy(out, tok, n);
	out[n] = '\0';
}

/*
 * The bearer token of the request into out (AUTH_TOKEN_MAX + 1 bytes);
 * 0, or -1 when the request carries none.
 */
static int
request_token(struct lws *wsi, char *out, size_t outlen)
{
	char h[AUTH_TOKEN_MAX + 16];
	const char *arg;
	int rc = -1, n;

	n = lws_hdr_copy(wsi, h, sizeof(h), WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n > 7 && strncasecmp(h, "Bearer ", 7) == 0) {
		copy_token(out, outlen, h + 7);
		rc = 0;
	} else if ((arg = lws_get_urlarg_by_name(wsi, "token=", h,
	                                         (int)sizeof(h))) &&
	           *arg) {
		copy_token(out, outlen, arg);
		rc = 0;
	}
	explicit_bzero(h, sizeof(h));
	return rc;
}

/* Whether the offered subprotocols, if any, include "bearer". */
static int
offers_bearer(struct lws *wsi)
{
	char h[2048];
	int n = lws_hdr_copy(wsi, h, sizeof(h), WSI_TOKEN_PROTOCOL);

	if (n <= 0)
		return lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0;
	for (const char *p = h; *p;) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 6 && strncasecmp(p, "bearer", 6) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* Authenticates an upgrade request; 0 lets it through, else replied. */
static int
confirm_upgrade(struct lws *wsi)
{
	struct pending *p = &D.pend;
	char token[AUTH_TOKEN_MAX + 1];
	enum auth_token_result v;
	struct user_principal u;
	struct event_head head;
	struct tdb *tdb;
	int rc;

	memset(p, 0, sizeof(*p));
	if (D.nconns >= (size_t)D.cfg->events_max_connections)
		return http_reply(wsi, 503, "unavailable",
		                  "too many connections; retry later");
	if (!offers_bearer(wsi))
		return http_reply(wsi, 400, "bad_request",
		                  "the only subprotocol is bearer");
	if (request_token(wsi, token, sizeof(token)) < 0)
		return http_reply(wsi, 401, "unauthorized",
		                  "an access token is required");
	v = auth_token_verify_exp(D.cfg, token, time(NULL), &p->who, &p->exp);
	explicit_bzero(token, sizeof(token));
	if (v == AUTH_TOKEN_EXPIRED)
		return http_reply(wsi, 401, "token_expired",
		                  "the access token has expired; refresh it");
	if (v != AUTH_TOKEN_OK)
		return http_reply(wsi, 401, "unauthorized",
		                  "the access token is not valid");
	if (p->who.platform)
		return http_reply(wsi, 401, "unauthorized",
		                  "events belong to a tenant; platform tokens "
		                  "cannot subscribe");
	arena_reset(&D.a);
	tdb = tdb_open(D.db, &D.a, p->who.tenant_id);
	rc = tdb ? store_user_principal(tdb, p->who.user_id, &u) : -1;
	if (rc < 0)
		return http_reply(wsi, 503, "unavailable",
		                  "the database is unavailable");
	p->role = rc == 1 ? role_parse(u.role) : -1;
	if (rc == 0 || !u.active || p->role <= ROLE_PUBLIC ||
	    p->role >= ROLE_PLATFORM)
		return http_reply(wsi, 401, "unauthorized",
		                  "the account behind this token is no longer "
		                  "active");
	/*
	 * The tenant's head is read before the 101 goes out, so that an
	 * event committed after the client saw the handshake is above it.
	 */
	if (!tenant_find(p->who.tenant_id)) {
		rc = store_event_head(tdb, &head);
		if (rc < 0)
			return http_reply(wsi, 503, "unavailable",
			                  "the database is unavailable");
		p->head = rc == 1 ? head.last_id : 0;
	}
	p->wsi = wsi;
	return 0;
}

static void
conn_established(struct conn *c, struct lws *wsi)
{
	struct pending *p = &D.pend;
	char fwd[sizeof(c->ip)];

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	if (p->wsi != wsi) {
		/* Not through confirm_upgrade(): cannot happen, refuse. */
		c->close_code = 1011;
		c->close_reason = "not authenticated";
		lws_callback_on_writable(wsi);
		return;
	}
	c->user_id = p->who.user_id;
	c->role = p->role;
	c->exp = p->exp;
	tenant_attach(c, p->who.tenant_id, p->head);
	c->cursor = c->t->cursor;
	c->state = C_HOLD;
	c->hold_until_us = now_usec() + WSD_RESUME_GRACE_MS * 1000;
	if (lws_hdr_copy(wsi, fwd, sizeof(fwd), WSI_TOKEN_X_FORWARDED_FOR) > 0)
		memcpy(c->ip, fwd, sizeof(c->ip));
	else
		lws_get_peer_simple(wsi, c->ip, sizeof(c->ip));
	memset(p, 0, sizeof(*p));
	D.nconns++;
	D.accepted++;
	log_debug("ws open: user %" PRId64 " tenant %" PRId64 " from %s",
	          c->user_id, c->t->id, c->ip);
}

static void
conn_closed(struct conn *c)
{
	if (!c->wsi)
		return;
	if (c->t) {
		D.nconns--;
		D.closed++;
	}
	tenant_detach(c);
	queue_clear(c);
	free(c->rx);
	c->rx = NULL;
	c->wsi = NULL;
}

/* ---- client messages ------------------------------------------------- */

static void
on_resume(struct conn *c, const cJSON *msg)
{
	int64_t n, pruned = 0, newest;
	struct event_head head;
	struct tdb *tdb;
	int rc;

	if (json_get_int64(
	        cJSON_GetObjectItemCaseSensitive(msg, "last_event_id"), 0,
	        INT64_MAX, &n) < 0) {
		send_error(c, "bad_request",
		           "last_event_id must be a non-negative integer");
		return;
	}
	arena_reset(&D.a);
	tdb = tdb_open(D.db, &D.a, c->t->id);
	rc = tdb ? store_event_head(tdb, &head) : -1;
	if (rc < 0) {
		db_failed("resume", c->t->id);
		send_error(c, "unavailable",
		           "the database is unavailable; "
		           "resume again later");
		return;
	}
	if (rc == 1)
		pruned = head.pruned_id;
	if (store_event_max_id(D.db, &D.a, &newest) < 0) {
		db_failed("resume", c->t->id);
		send_error(c, "unavailable",
		           "the database is unavailable; "
		           "resume again later");
		return;
	}
	/* What was queued and not yet written comes again from the table. */
	queue_clear(c);
	if (n < pruned || n > newest) {
		send_type(c, "resync_required");
		c->cursor = c->t->cursor;
	} else {
		c->cursor = n;
	}
	c->state = C_REPLAY;
	lws_callback_on_writable(c->wsi);
}

static void
on_auth(struct conn *c, const cJSON *msg)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(msg, "token");
	struct principal who;
	char when[40];
	time_t exp;
	cJSON *o;

	if (!cJSON_IsString(tok) ||
	    auth_token_verify_exp(D.cfg, tok->valuestring, time(NULL), &who,
	                          &exp) != AUTH_TOKEN_OK ||
	    who.platform || who.user_id != c->user_id ||
	    who.tenant_id != c->t->id) {
		send_error(c, "unauthorized",
		           "the token is not a valid access token of this "
		           "user; the connection keeps its old expiry");
		return;
	}
	if (exp > c->exp)
		c->exp = exp;
	utc_text(c->exp, UTC_RFC3339, when);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "authenticated");
	cJSON_AddStringToObject(o, "expires_at", when);
	conn_send_own(c, msg_json(o));
}

static void
on_message(struct conn *c, const char *text, size_t len)
{
	cJSON *msg = NULL;
	const cJSON *type;

	/* The project's parser: exact integers, valid UTF-8, no dup keys. */
	arena_reset(&D.ma);
	if (json_parse(&D.ma, text, len, &msg) != JSON_OK)
		msg = NULL;
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (!cJSON_IsObject(msg) || !cJSON_IsString(type))
		send_error(c, "bad_request",
		           "a message is a JSON object with a \"type\"");
	else if (strcmp(type->valuestring, "resume") == 0)
		on_resume(c, msg);
	else if (strcmp(type->valuestring, "auth") == 0)
		on_auth(c, msg);
	else if (strcmp(type->valuestring, "ping") == 0)
		send_type(c, "pong");
	else
		send_error(c, "bad_request",
		           "unknown type; resume, auth and ping exist");
	arena_reset(&D.ma);
}

/* A frame or a piece of one; whole messages go to on_message(). */
static void
on_receive(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	int64_t now = now_usec();
	int final =
	    lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

	if (c->close_code)
		return;
	if (c->rxlen + len > WSD_MSG_MAX) {
		conn_close(c, 1009, "messages are at most 4096 bytes");
		return;
	}
	if (!final || c->rx) {
		if (!c->rx)
			c->rx = xmalloc(WSD_MSG_MAX);
		memcpy(c->rx + c->rxlen, in, len);
		c->rxlen += len;
		if (!final)
			return;
		in = c->rx;
		len = c->rxlen;
	}
	/* A window opens with its first message: 21 within it is one too many.
	 */
	if (now - c->window_us >= 1000000) {
		c->window_us = now;
		c->msgs = 0;
	}
	if (++c->msgs > WSD_MSGS_PER_SEC)
		conn_close(c, 1008, "too many messages");
	else if (lws_frame_is_binary(wsi))
		send_error(c, "bad_request", "messages are JSON text frames");
	else
		on_message(c, in, len);
	free(c->rx);
	c->rx = NULL;
	c->rxlen = 0;
}

/* One write per writable callback; -1 closes the connection. */
static int
on_writable(struct conn *c, struct lws *wsi)
{
	struct qent *e = c->qhead;
	int n;

	if (c->close_code && !e) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
		                 (unsigned char *)(uintptr_t)c->close_reason,
		                 strlen(c->close_reason));
		return -1;
	}
	if (!e) {
		if (c->state == C_REPLAY && c->t)
			conn_replay(c);
		return 0;
	}
	c->qhead = e->next;
	if (!c->qhead)
		c->qtail = NULL;
	c->qlen--;
	n = lws_write(wsi, e->m->data + LWS_PRE, e->m->len, LWS_WRITE_TEXT);
	msg_unref(e->m);
	free(e);
	if (n < 0)
		return -1;
	/* More to write, a close to send, or the next replay batch. */
	if (c->qhead || c->close_code || c->state == C_REPLAY)
		lws_callback_on_writable(wsi);
	return 0;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(wsi);
	case LWS_CALLBACK_HTTP:
		if (http_reply(wsi, 426, "upgrade_required",
		               "this is a WebSocket endpoint") < 0 ||
		    lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		conn_established(c, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		on_receive(c, wsi, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writable(c, wsi);
	case LWS_CALLBACK_CLOSED:
		conn_closed(c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- the nudge socket ------------------------------------------------ */

static int
nudge_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
               void *in, size_t len)
{
	char buf[32];
	ssize_t n;

	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	/* Every datagram waiting, then one read per named tenant. */
	while ((n = recv(D.nudge_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >=
	       0) {
		struct tenant *t;
		int64_t id;

		if (parse_int64_n(buf, (size_t)n, 1, INT64_MAX, &id) < 0)
			continue;
		t = tenant_find(id);
		if (t) {
			t->dirty = 1;
			D.any_dirty = 1;
		}
	}
	flush_dirty();
	return 0;
}

static int
nudge_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rcvbuf = 1 << 20;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("event daemon cannot start: events_socket '%s' is "
		          "too long",
		          path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_error("event daemon cannot start: bind '%s': %s", path,
		          strerror(errno));
		close(fd);
		return -1;
	}
	/* The API's and the jobs' account writes to it (same user, group). */
	chmod(path, 0660);
	return fd;
}

/* ---- the loop -------------------------------------------------------- */

static void
lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && line[n - 1] == '\n')
		n--;
	if (level & LLL_ERR)
		log_error("libwebsockets: %.*s", (int)n, line);
	else
		log_warn("libwebsockets: %.*s", (int)n, line);
}

/* Splits "host:port"; 0 or -1. */
static int
parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	int64_t p;

	if (!colon || colon == s || (size_t)(colon - s) >= hostlen ||
	    parse_int64(colon + 1, 1, 65535, &p) < 0)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (int)p;
	return 0;
}

/* Every client needs a descriptor: take the hard limit. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
wsd_wake(void)
{
	if (D.ctx)
		lws_cancel_service(D.ctx);
}

int
wsd_run(const struct config *c, volatile sig_atomic_t *stop)
{
	static const struct lws_protocols protocols[] = {
	    {"bearer", ws_callback, sizeof(struct conn), 1024, 0, NULL, 0},
	    {"rtrw-nudge", nudge_callback, 0, 0, 0, NULL, 0},
	    {NULL, NULL, 0, 0, 0, NULL, 0},
	};
	struct lws_context_creation_info info;
	lws_retry_bo_t retry;
	char host[CONFIG_STR_MAX], err[256];
	lws_sock_file_fd_type fd;
	int port, rc = -1;

	memset(&D, 0, sizeof(D));
	D.cfg = c;
	D.stop = stop;
	D.nudge_fd = -1;
	if (parse_listen(c->events_listen, host, sizeof(host), &port) < 0) {
		log_error("event daemon cannot start: events_listen '%s' is "
		          "not host:port",
		          c->events_listen);
		return -1;
	}
	D.db = db_open(c, DB_ACCOUNT_APP, err, sizeof(err));
	if (!D.db) {
		log_error("event daemon cannot start: %s", err);
		return -1;
	}
	if (db_prepare_all(D.db, err, sizeof(err)) < 0) {
		log_error("event daemon cannot start: %s", err);
		goto out_db;
	}
	arena_init(&D.a, (size_t)c->arena_cap_bytes);
	arena_init(&D.ma, 64 * 1024);
	raise_fd_limit();
	D.nudge_fd = nudge_open(c->events_socket);
	if (D.nudge_fd < 0)
		goto out_arena;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&retry, 0, sizeof(retry));
	retry.secs_since_valid_ping = (uint16_t)c->events_ping_seconds;
	retry.secs_since_valid_hangup = (uint16_t)(2 * c->events_ping_seconds);
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = host;
	info.protocols = protocols;
	info.retry_and_idle_policy = &retry;
	info.options =
	    LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 4096;
	info.timeout_secs = 10;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	D.ctx = lws_create_context(&info);
	if (!D.ctx) {
		log_error("event daemon cannot start: cannot listen on %s",
		          c->events_listen);
		goto out_nudge;
	}
	fd.filefd = D.nudge_fd;
	if (!lws_adopt_descriptor_vhost(lws_get_vhost_by_name(D.ctx, "default"),
	                                LWS_ADOPT_RAW_FILE_DESC, fd,
	                                "rtrw-nudge", NULL)) {
		log_error("event daemon cannot start: cannot watch the nudge "
		          "socket");
		goto out_ctx;
	}
	log_info("event daemon listening on %s, nudges on %s", c->events_listen,
	         c->events_socket);
	lws_sul_schedule(D.ctx, 0, &D.tick, tick, TICK_US);
	while (!*stop)
		if (lws_service(D.ctx, 0) < 0)
			break;
	log_info("event daemon stopping: %zu connections, %ld accepted, %ld "
	         "closed",
	         D.nconns, D.accepted, D.closed);
	rc = 0;
out_ctx:
	lws_sul_cancel(&D.tick);
	/* Closes every connection: their CLOSED callbacks free them. */
	lws_context_destroy(D.ctx);
	D.ctx = NULL;
	/* The adopted descriptor was closed with its wsi. */
	D.nudge_fd = -1;
out_nudge:
	if (D.nudge_fd >= 0)
		close(D.nudge_fd);
	unlink(c->events_socket);
out_arena:
	arena_release(&D.ma);
	arena_release(&D.a);
out_db:
	db_close(D.db);
	return rc;
}
