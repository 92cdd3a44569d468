#include "dispatch.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "arena.h"
#include "auth.h"
#include "ratelimit.h"
#include "config.h"
#include "row.h"
#include "store/platform.h"
#include "store/user.h"
#include "tdb.h"
#include "fields.h"
#include "json.h"
#include "log.h"
#include "util.h"

/* Whether the Content-Type is JSON (parameters such as charset allowed). */
static int
is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!ct || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	if (*ct == '\0')
		return 1;
	if (*ct != ';')
		return 0;
	/* Only UTF-8 is accepted as a charset. */
	for (ct++; *ct == ' '; ct++)
		;
	if (strncasecmp(ct, "charset=", 8) == 0)
		return strcasecmp(ct + 8, "utf-8") == 0 ||
		       strcasecmp(ct + 8, "\"utf-8\"") == 0;
	return 1;
}

static int
read_body(struct req *r, int body_too_large)
{
	enum json_err err;
	cJSON *root;

	if (body_too_large)
		return req_fail(r, 413, "payload_too_large",
		                "request body is larger than 1 MiB");
	/*
	 * An action without fields (POST /customers/1/activate) may come
	 * with no body at all; anything sent must still be a JSON object.
	 */
	if (r->body_len == 0) {
		if (r->route->fields && !(r->route->flags & R_PARTIAL) &&
		    r->method != HTTP_DELETE)
			return req_fail(r, 400, "bad_request",
			                "request body is required: a JSON "
			                "object");
		return fields_validate(r, r->route->fields, NULL,
		                       (r->route->flags & R_PARTIAL) != 0 ||
		                           !r->route->fields);
	}
	if (!is_json_type(r->content_type))
		return req_fail(r, 400, "bad_request",
		                "Content-Type must be application/json; "
		                "charset=utf-8");
	err = json_parse(r->a, r->body, r->body_len, &root);
	if (err == JSON_ERR_NOMEM)
		return -1;
	if (err)
		return req_fail(r, 400, "bad_request", json_err_str(err));
	if (!cJSON_IsObject(root))
		return req_fail(r, 400, "bad_request",
		                "request body must be a JSON object");
	r->json = root;
	return fields_validate(r, r->route->fields, root,
	                       (r->route->flags & R_PARTIAL) != 0);
}

/* Adds the X-RateLimit-* headers of a counted request. */
static void
limit_headers(struct req *r, const struct ratelimit_result *l)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRId64, l->limit);
	req_header(r, "X-RateLimit-Limit", v);
	snprintf(v, sizeof(v), "%" PRId64, l->remaining);
	req_header(r, "X-RateLimit-Remaining", v);
	snprintf(v, sizeof(v), "%" PRId64, l->reset);
	req_header(r, "X-RateLimit-Reset", v);
}

static int
rate_limited(struct req *r, const struct ratelimit_result *l)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRId64, l->retry_after);
	req_header(r, "Retry-After", v);
	return req_fail(r, 429, "rate_limited",
	                "too many requests; slow down and retry after the "
	                "time in Retry-After");
}

/*
 * Unauthenticated routes are limited per client IP (from nginx's
 * REMOTE_ADDR, never a client header), and a blocked IP is refused.
 */
static int
guard_public(struct app *app, struct req *r)
{
	struct ratelimit_result l;
	char subject[96];
	const char *ip = r->remote_addr ? r->remote_addr : "-";

	if (r->route->flags & R_NO_RATELIMIT)
		return 0;
	snprintf(subject, sizeof(subject), "ip:%s", ip);
	if (ratelimit_blocked(app->cache, subject))
		return req_fail(r, 403, "ip_blocked",
		                "this address is blocked for a while after "
		                "repeated failed logins");
	ratelimit_hit(app->cache, subject, app->cfg->rate_limit_ip_per_minute,
	              60, time(NULL), &l);
	if (l.limited)
		return rate_limited(r, &l);
	return 0;
}

/*
 * The callers' users rows this worker read lately.  Re-reading the row
 * on every request costs a database round trip; within auth_cache_ms
 * (1 s by default) the worker reuses it, so a deactivation or a role
 * change reaches every worker within that time (the worker that made the
 * change forgets at once).  Logins and refreshes always read the
 * database.
 */
struct principal_entry {
	int64_t tenant_id, user_id;
	int64_t read_us;
	struct user_principal *row; /* heap: row_dup_heap() */
};

#define PRINCIPAL_CACHE 64

static struct principal_entry principals[PRINCIPAL_CACHE];

static struct principal_entry *
principal_slot(int64_t tenant_id, int64_t user_id)
{
	uint64_t h = (uint64_t)tenant_id * 1000003u ^ (uint64_t)user_id;

	return &principals[h % PRINCIPAL_CACHE];
}

void
dispatch_forget_principal(int64_t tenant_id, int64_t user_id)
{
	struct principal_entry *e = principal_slot(tenant_id, user_id);

	if (e->tenant_id == tenant_id && e->user_id == user_id)
		e->read_us = 0;
}

/*
 * Verifies the bearer token, binds the tenant, re-reads the caller from
 * the database (a deactivated user or a changed role takes effect at
 * once, not when the token expires) and counts the request against the
 * caller's rate limit.
 */
static int
authenticate(struct app *app, struct req *r)
{
	const char *h = r->authorization;
	struct user_principal *row;
	struct ratelimit_result l;
	char subject[64];
	int role, rc;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return req_fail(r, 401, "unauthorized",
		                "a bearer access token is required");
	switch (auth_token_verify(app->cfg, h + 7, time(NULL), &r->who)) {
	case AUTH_TOKEN_OK:
		break;
	case AUTH_TOKEN_EXPIRED:
		memset(&r->who, 0, sizeof(r->who));
		return req_fail(r, 401, "token_expired",
		                "the access token has expired; refresh it");
	default:
		memset(&r->who, 0, sizeof(r->who));
		return req_fail(r, 401, "unauthorized",
		                "the access token is not valid");
	}
	if (r->who.platform) {
		struct platform_admin admin;

		rc = store_platform_get(app->db, r->a, r->who.user_id, &admin);
		if (rc < 0)
			return req_fail(r, 503, "unavailable",
			                "the database is unavailable");
		if (rc == 0 || !admin.active)
			goto out_gone;
	} else {
		struct principal_entry *e =
		    principal_slot(r->who.tenant_id, r->who.user_id);
		int64_t now = now_usec();

		r->tdb = tdb_open(app->db, r->a, r->who.tenant_id);
		row = arena_zalloc(r->a, sizeof(*row));
		if (!r->tdb || !row)
			return -1;
		if (e->row && e->read_us && e->tenant_id == r->who.tenant_id &&
		    e->user_id == r->who.user_id &&
		    now - e->read_us <
		        (int64_t)app->cfg->auth_cache_ms * 1000) {
			row = e->row;
		} else {
			rc = store_user_principal(r->tdb, r->who.user_id, row);
			if (rc < 0)
				return req_fail(r, 503, "unavailable",
				                "the database is unavailable");
			if (rc == 0)
				goto out_gone;
			if (app->cfg->auth_cache_ms > 0) {
				free(e->row);
				e->row = row_dup_heap(&user_principal_row, row);
				e->tenant_id = r->who.tenant_id;
				e->user_id = r->who.user_id;
				e->read_us = now;
			}
		}
		if (!row->active)
			goto out_gone;
		role = role_parse(row->role);
		if (role <= ROLE_PUBLIC || role >= ROLE_PLATFORM)
			goto out_gone;
		r->who.role = role;
		r->who_row = row;
	}
	snprintf(subject, sizeof(subject), "%s:%" PRId64,
	         r->who.platform ? "p" : "u", r->who.user_id);
	ratelimit_hit(app->cache, subject, app->cfg->rate_limit_per_minute, 60,
	              time(NULL), &l);
	if (!l.degraded)
		limit_headers(r, &l);
	if (l.limited)
		return rate_limited(r, &l);
	return 0;

out_gone:
	r->tdb = NULL;
	memset(&r->who, 0, sizeof(r->who));
	return req_fail(r, 401, "unauthorized",
	                "the account behind this token is no longer active");
}

/* Whether the authenticated caller may use the route. */
static int
role_allows(const struct route *rt, const struct principal *who)
{
	if (rt->role == ROLE_PLATFORM)
		return who->platform;
	/* Platform administrators act on tenants, not inside them. */
	if (who->platform)
		return (rt->flags & R_PLATFORM_TOO) != 0;
	return who->role >= (int)rt->role;
}

static void
finish_error(struct app *app, struct req *r)
{
	/* A handler that failed without saying why: look at the database. */
	if (!r->err_code && r->status < 400 && app->db &&
	    db_last_error(app->db) == DBE_CONN)
		r->status = 503;
	if (!r->err_code && r->status < 400 && r->a->over)
		log_error("request failed: memory cap of %ld bytes reached",
		          app->cfg->arena_cap_bytes);
	/* Headers such as rate-limit counters stay; handler extras go. */
	http_error(r);
}

/*
 * Whether a failed handler lost its transaction to a lock: InnoDB chose
 * it as a deadlock victim and nothing of it was answered or committed.
 * Such a failure is the database's choice of one of two valid
 * transactions, not the client's fault nor a fault of the server, so it
 * is run again rather than answered 500.  A deadlock is found at once; a
 * request that has already run RETRY_WITHIN_US waited out a lock wait
 * timeout (innodb_lock_wait_timeout, 50 s) and is not run again.
 */
#define RETRY_WITHIN_US 2000000
static int
lost_to_lock(const struct app *app, const struct req *r)
{
	return app->db && db_last_error(app->db) == DBE_LOCK && !r->err_code &&
	       r->status < 400 && !r->a->over &&
	       !(r->stream && r->stream->on) &&
	       now_usec() - r->started_us < RETRY_WITHIN_US;
}

/*
 * Runs the handler and rolls back what it left open.  A handler that
 * lost its transaction to a lock runs again, up to HANDLER_ATTEMPTS times
 * in all, from the same request (body, fields and principal) with its
 * response reset: handlers keep their state in the database and send
 * events only after a commit (lib/events.h), so a second run sees what
 * the first never did.  Work outside the database (a memcached delete,
 * a router read) is repeated, and is safe to repeat.
 */
#define HANDLER_ATTEMPTS 3
static int
run_handler(struct app *app, struct req *r)
{
	size_t headers_len = r->headers->len;
	int rc;

	for (int attempt = 1;; attempt++) {
		rc = r->route->handler(r);
		if (app->db)
			db_request_done(app->db);
		if (rc == 0 || attempt == HANDLER_ATTEMPTS ||
		    !lost_to_lock(app, r))
			return rc;
		log_warn("request %s: lost a deadlock or lock wait, run %d of "
		         "%d",
		         r->request_id, attempt + 1, HANDLER_ATTEMPTS);
		r->status = 0;
		r->err_msg = NULL;
		r->err_details = NULL;
		buf_reset(r->body_out);
		buf_truncate(r->headers, headers_len);
	}
}

void
dispatch(struct app *app, struct req *r, int body_too_large)
{
	const struct route *table = app->root_routes;
	const char *path = r->path;
	unsigned allowed = 0;
	int rc = -1;

	r->cache = app->cache;
	r->cfg = app->cfg;
	if (strncmp(path, API_PREFIX "/", sizeof(API_PREFIX)) == 0) {
		table = app->api_routes;
		path += sizeof(API_PREFIX) - 1;
	}
	if (r->method == HTTP_NONE) {
		req_fail(r, 405, "method_not_allowed",
		         "this method is not supported");
		goto out_error;
	}
	r->route =
	    router_match(table, r->method, path, r->ids, &r->nids, &allowed);
	if (!r->route) {
		if (allowed) {
			char allow[128];

			router_allow_header(allowed, allow, sizeof(allow));
			req_fail(r, 405, "method_not_allowed",
			         "this method is not allowed here");
			http_error(r);
			buf_reset(r->headers);
			req_header(r, "Allow", allow);
			return;
		}
		req_fail(r, 404, "not_found", "no such route");
		goto out_error;
	}
	if (r->route->role == ROLE_PUBLIC) {
		r->db = app->db;
		if (guard_public(app, r) < 0)
			goto out_error;
	} else {
		if (authenticate(app, r) < 0)
			goto out_error;
		if (!role_allows(r->route, &r->who)) {
			req_fail(r, 403, "forbidden",
			         "your role may not do this");
			goto out_error;
		}
		/* Platform administrators have no tenant handle. */
		if (r->who.platform)
			r->db = app->db;
	}
	if (r->route->flags & R_BODY) {
		if (read_body(r, body_too_large) < 0)
			goto out_error;
	} else if (body_too_large) {
		req_fail(r, 413, "payload_too_large",
		         "request body is larger than 1 MiB");
		goto out_error;
	}
	rc = run_handler(app, r);
	if (rc == 0 && !r->a->over)
		return;
out_error:
	finish_error(app, r);
}
