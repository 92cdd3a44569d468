/*
 * Authentication: login, refresh, logout, me.
 *
 * Wrong tenant, wrong email, wrong password and a deactivated account
 * all answer the same 401 after the same work (an unknown user is
 * checked against a dummy hash).  Failures are counted per client IP and
 * per account; past the limits the IP or the account is blocked for a
 * while (403 ip_blocked), and the block is audited and raised as an alert.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "ratelimit.h"
#include "log.h"
#include "reply.h"
#include "store/platform.h"
#include "store/tenant.h"
#include "store/token.h"
#include "store/user.h"

/* clang-format off */
const struct field auth_login_fields[] = {
	{ "tenant",   FT_STRING,   1, 40,  F_REQUIRED, NULL },
	{ "email",    FT_STRING,   1, 254, F_REQUIRED, NULL },
	{ "password", FT_PASSWORD, 1, AUTH_PASSWORD_MAX, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { AUTH_F_TENANT, AUTH_F_EMAIL, AUTH_F_PASSWORD };

/*
 * A refresh token that is not one (empty included) is a bad credential,
 * 401 like an unknown one; only the length cap is a field rule (422).
 */
const struct field auth_refresh_fields[] = {
	{ "refresh_token", FT_STRING, 0, 128, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

static const char bad_login[] = "invalid tenant, email or password";

static int
session_response(struct req *r, const struct session *s, cJSON *user,
                 int with_refresh)
{
	cJSON *d = cJSON_CreateObject();

	if (!d) {
		cJSON_Delete(user);
		return -1;
	}
	cJSON_AddStringToObject(d, "access_token", s->access);
	if (with_refresh)
		cJSON_AddStringToObject(d, "refresh_token", s->refresh);
	else
		cJSON_AddNullToObject(d, "refresh_token");
	cJSON_AddStringToObject(d, "token_type", "Bearer");
	cJSON_AddNumberToObject(d, "expires_in", r->cfg->access_ttl_seconds);
	cJSON_AddItemToObject(d, "user", user);
	return req_data(r, 200, d);
}

/*
 * Counts one failed login and, when it tips a limit, records the block in
 * the tenant's audit log and alerts (t may be NULL for unknown tenants).
 * Its own transaction: what fails here is rolled back by the dispatcher
 * with the rest of the request.
 */
static void
login_failed(struct req *r, struct tdb *t, int64_t user_id, const char *acct,
             const char *email)
{
	const struct config *c = r->cfg;
	char ipsub[96];
	int ip_block, acct_block;
	cJSON *v;
	struct audit_entry e;

	snprintf(ipsub, sizeof(ipsub), "ip:%s",
	         r->remote_addr ? r->remote_addr : "-");
	ip_block =
	    ratelimit_fail(r->cache, ipsub, c->login_fail_ip_limit,
	                   c->login_fail_window_seconds, c->block_seconds);
	acct_block =
	    ratelimit_fail(r->cache, acct, c->login_fail_account_limit,
	                   c->login_fail_window_seconds, c->block_seconds);
	if (ip_block)
		log_warn("login blocked ip '%s' for %d s after repeated "
		         "failures",
		         r->remote_addr ? r->remote_addr : "-",
		         c->block_seconds);
	if (!t)
		return;
	if (tdb_begin(t) < 0)
		return;
	v = json_own(r->a, cJSON_CreateObject());
	if (!v)
		return;
	cJSON_AddStringToObject(v, "email", email);
	memset(&e, 0, sizeof(e));
	e.user_id = user_id;
	e.action = "login_failed";
	e.entity_type = "user";
	e.entity_id = user_id;
	e.new_values = v;
	e.ip = r->remote_addr;
	e.user_agent = r->user_agent;
	if (audit_write(t, &e) < 0)
		return;
	if (ip_block) {
		e.action = "ip_blocked";
		e.entity_type = "ip";
		e.entity_id = 0;
		cJSON_AddStringToObject(v, "ip", r->remote_addr);
		cJSON_AddNumberToObject(v, "seconds", c->block_seconds);
		if (audit_write(t, &e) < 0 ||
		    alert_raise(t, "ip_blocked", "ip",
		                r->remote_addr ? r->remote_addr : "-",
		                "an address was blocked after repeated "
		                "failed logins",
		                v) < 0)
			return;
	}
	if (acct_block) {
		e.action = "account_locked";
		if (audit_write(t, &e) < 0 ||
		    alert_raise(t, "account_locked", "user", email,
		                "an account was locked after repeated "
		                "failed logins",
		                v) < 0)
			return;
	}
	tdb_commit(t);
}

/*
 * Checks a platform administrator's login.  The rehash buffer is wiped on
 * every path.
 */
static int
login_platform(struct req *r, const char *email, const char *password,
               const char *acct)
{
	struct platform_login admin;
	struct principal p;
	struct session s;
	char rehash[AUTH_HASH_MAX];
	cJSON *u;
	int ok = 0, rc = -1, found;

	rehash[0] = '\0';
	found = store_platform_by_email(r->db, r->a, email, &admin);
	if (found < 0)
		return -1;
	if (found == 1)
		ok = auth_password_verify(admin.password_hash, password) == 1 &&
		     admin.active;
	else
		auth_password_dummy(r->cfg, password);
	if (!ok) {
		login_failed(r, NULL, 0, acct, email);
		return req_fail(r, 401, "unauthorized", bad_login);
	}
	ratelimit_forget(r->cache, acct);
	memset(&p, 0, sizeof(p));
	p.user_id = admin.id;
	p.role = ROLE_PLATFORM;
	p.platform = 1;
	if (auth_password_needs_rehash(r->cfg, admin.password_hash) &&
	    auth_password_hash(r->cfg, password, rehash, sizeof(rehash)) < 0)
		goto out_wipe;
	if (store_platform_login_done(r->db, r->a, p.user_id,
	                              rehash[0] ? rehash : NULL) < 0 ||
	    auth_token_issue(r->cfg, &p, time(NULL), s.access,
	                     sizeof(s.access)) < 0)
		goto out_wipe;
	log_info("platform login admin=%" PRId64, p.user_id);
	u = row_json(&platform_login_row, &admin);
	if (!u)
		goto out_wipe;
	cJSON_AddStringToObject(u, "role", "platform");
	/* Platform sessions are short: no refresh token. */
	rc = session_response(r, &s, u, 0);
out_wipe:
	explicit_bzero(rehash, sizeof(rehash));
	explicit_bzero(&s, sizeof(s));
	return rc;
}

/*
 * Logs a tenant user in.  The rehash buffer is wiped on every path; the
 * password itself lives in the request's arena, which is wiped at reset
 * (lib/arena.h).
 */
int
auth_login(struct req *r)
{
	const char *slug = r->vals[AUTH_F_TENANT].s;
	const char *password = r->vals[AUTH_F_PASSWORD].s;
	char *email = arena_strdup(r->a, r->vals[AUTH_F_EMAIL].s);
	char acct[96], rehash[AUTH_HASH_MAX], *key;
	struct user_login login;
	struct tenant tenant;
	struct tdb *t = NULL;
	struct principal p;
	struct session s;
	struct user user;
	int ok = 0, found = 0, rc = -1;

	if (!email)
		return -1;
	identity_fold_email(email);
	key = arena_printf(r->a, "%s\n%s", slug, email);
	if (!key)
		return -1;
	ratelimit_subject("acct", key, acct, sizeof(acct));
	if (ratelimit_blocked(r->cache, acct))
		return req_fail(r, 403, "ip_blocked",
		                "this account is locked for a while after "
		                "repeated failed logins");
	if (strcmp(slug, IDENTITY_PLATFORM_SLUG) == 0)
		return login_platform(r, email, password, acct);

	switch (store_tenant_by_slug(r->db, r->a, slug, &tenant)) {
	case 1:
		t = tdb_open(r->db, r->a, tenant.id);
		if (!t)
			return -1;
		found = store_user_by_email(t, email, &login);
		if (found < 0)
			return -1;
		break;
	case 0:
		break;
	default:
		return -1;
	}
	if (found == 1)
		ok = auth_password_verify(login.password_hash, password) == 1 &&
		     login.active && strcmp(tenant.status, "active") == 0;
	else
		auth_password_dummy(r->cfg, password);
	if (!ok) {
		login_failed(r, t, found == 1 ? login.id : 0, acct, email);
		return req_fail(r, 401, "unauthorized", bad_login);
	}
	ratelimit_forget(r->cache, acct);

	memset(&p, 0, sizeof(p));
	p.user_id = login.id;
	p.tenant_id = tenant.id;
	p.role = role_parse(login.role);
	rehash[0] = '\0';
	if (auth_password_needs_rehash(r->cfg, login.password_hash) &&
	    auth_password_hash(r->cfg, password, rehash, sizeof(rehash)) < 0)
		goto out_wipe;
	r->tdb = t;
	r->who = p;
	if (tdb_begin(t) < 0 ||
	    store_user_login_done(t, login.id, rehash[0] ? rehash : NULL) < 0 ||
	    identity_session_open(t, r->cfg, &p, NULL, 0, r->remote_addr,
	                          r->user_agent, &s, NULL) < 0 ||
	    req_audit(r, "login", "user", login.id, NULL, NULL) < 0 ||
	    store_user_get(t, login.id, &user) != 1 || tdb_commit(t) < 0)
		goto out_wipe;
	rc = session_response(r, &s, row_json(&user_row, &user), 1);
out_wipe:
	explicit_bzero(rehash, sizeof(rehash));
	explicit_bzero(&s, sizeof(s));
	return rc;
}

int
auth_refresh(struct req *r)
{
	const char *token = r->vals[0].s;
	struct refresh_token old;
	unsigned char hash[32];
	struct principal p;
	struct session s;
	struct user user;
	struct tdb *t;
	int64_t new_id;
	int rc;

	if (!auth_refresh_valid(token))
		return req_fail(r, 401, "unauthorized",
		                "the refresh token is not valid");
	auth_refresh_hash(token, hash);
	if (db_begin(r->db) < 0)
		return -1;
	rc = store_token_by_hash(r->db, r->a, hash, &old);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return req_fail(r, 401, "unauthorized",
		                "the refresh token is not valid");
	t = tdb_open(r->db, r->a, old.tenant_id);
	if (!t)
		return -1;
	r->tdb = t;
	r->who.tenant_id = old.tenant_id;
	r->who.user_id = old.user_id;
	if (old.rotated) {
		/*
		 * A rotated token came back: either its owner or a thief
		 * has a copy.  End every session of that login.
		 */
		if (store_token_revoke_family(t, old.family) < 0 ||
		    req_audit(r, "refresh_reuse", "user", old.user_id, NULL,
		              NULL) < 0 ||
		    tdb_commit(t) < 0)
			return -1;
		log_warn("refresh token reused, family revoked tenant=%" PRId64
		         " user=%" PRId64,
		         old.tenant_id, old.user_id);
		return req_fail(r, 401, "unauthorized",
		                "the refresh token was already used; every "
		                "session of this login is now revoked");
	}
	if (old.revoked || old.expired)
		return req_fail(r, 401, "unauthorized",
		                "the refresh token has expired or was revoked");
	rc = store_user_get(t, old.user_id, &user);
	if (rc < 0)
		return -1;
	if (rc == 0 || !user.active)
		return req_fail(r, 401, "unauthorized",
		                "the account is no longer active");
	memset(&p, 0, sizeof(p));
	p.user_id = old.user_id;
	p.tenant_id = old.tenant_id;
	p.role = role_parse(user.role);
	if (identity_session_open(t, r->cfg, &p, old.family, old.id,
	                          r->remote_addr, r->user_agent, &s,
	                          &new_id) < 0 ||
	    store_token_rotate(t, old.id, new_id) < 0 || tdb_commit(t) < 0)
		return -1;
	rc = session_response(r, &s, row_json(&user_row, &user), 1);
	explicit_bzero(&s, sizeof(s));
	return rc;
}

int
auth_logout(struct req *r)
{
	const char *token = r->vals[0].s;
	struct refresh_token old;
	unsigned char hash[32];
	struct tdb *t;
	int rc;

	/* Logging out with an unknown token changes nothing: still 204. */
	if (!auth_refresh_valid(token))
		return req_no_content(r);
	auth_refresh_hash(token, hash);
	if (db_begin(r->db) < 0)
		return -1;
	rc = store_token_by_hash(r->db, r->a, hash, &old);
	if (rc <= 0)
		return rc < 0 ? -1 : req_no_content(r);
	t = tdb_open(r->db, r->a, old.tenant_id);
	if (!t)
		return -1;
	r->tdb = t;
	r->who.tenant_id = old.tenant_id;
	r->who.user_id = old.user_id;
	rc = store_token_revoke(t, old.id);
	if (rc < 0 ||
	    (rc == 1 &&
	     req_audit(r, "logout", "user", old.user_id, NULL, NULL) < 0) ||
	    tdb_commit(t) < 0)
		return -1;
	return req_no_content(r);
}

/* The user object of me: the caller's users row without its tenant. */
static cJSON *
me_user(const struct user_principal *row)
{
	struct user u = {
	    .id = row->id,
	    .name = row->name,
	    .email = row->email,
	    .role = row->role,
	    .active = row->active,
	    .last_login_at = row->last_login_at,
	    .created_at = row->created_at,
	    .updated_at = row->updated_at,
	};

	return row_json(&user_row, &u);
}

int
auth_me(struct req *r)
{
	cJSON *d = cJSON_CreateObject(), *tenant;
	const struct user_principal *row = r->who_row;

	if (!d)
		return -1;
	if (r->who.platform) {
		struct platform_admin admin;

		if (store_platform_get(r->db, r->a, r->who.user_id, &admin) !=
		    1) {
			cJSON_Delete(d);
			return -1;
		}
		cJSON_AddItemToObject(d, "user",
		                      row_json(&platform_admin_row, &admin));
		cJSON_AddStringToObject(d, "role", "platform");
		cJSON_AddNullToObject(d, "tenant");
		return req_data(r, 200, d);
	}
	/* The dispatcher already read the user and tenant: no query here. */
	cJSON_AddItemToObject(d, "user", me_user(row));
	cJSON_AddStringToObject(d, "role", role_name((enum role)r->who.role));
	tenant = cJSON_AddObjectToObject(d, "tenant");
	json_add_int(tenant, "id", r->who.tenant_id);
	cJSON_AddStringToObject(tenant, "slug", row->tenant_slug);
	cJSON_AddStringToObject(tenant, "name", row->tenant_name);
	cJSON_AddStringToObject(tenant, "timezone", row->tenant_timezone);
	cJSON_AddStringToObject(tenant, "status", row->tenant_status);
	return req_data(r, 200, d);
}
