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
#include "cache.h"
#include "config.h"
#include "db.h"
#include "fields.h"
#include "identity.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "store/store.h"
#include "util.h"

/* clang-format off */
const struct field auth_login_fields[] = {
	{ "tenant",   FT_STRING,   1, 40,  F_REQUIRED, NULL },
	{ "email",    FT_STRING,   1, 254, F_REQUIRED, NULL },
	{ "password", FT_PASSWORD, 1, AUTH_PASSWORD_MAX, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { L_TENANT, L_EMAIL, L_PASSWORD };

const struct field auth_refresh_fields[] = {
	{ "refresh_token", FT_STRING, 1, 128, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

static const char bad_login[] = "invalid tenant, email or password";

/* The user object of login and me: the users row minus tenant columns. */
static cJSON *
user_json(const struct dbres *row)
{
	cJSON *u = dbres_row_json(row, 0, NULL);

	cJSON_DeleteItemFromObject(u, "password_hash");
	cJSON_DeleteItemFromObject(u, "tenant_id");
	cJSON_DeleteItemFromObject(u, "tenant_slug");
	cJSON_DeleteItemFromObject(u, "tenant_name");
	cJSON_DeleteItemFromObject(u, "tenant_timezone");
	cJSON_DeleteItemFromObject(u, "tenant_status");
	return u;
}

static int
session_response(struct req *r, const struct session *s, cJSON *user,
                 int with_refresh)
{
	cJSON *d = cJSON_CreateObject();

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
	ip_block = limits_fail(r->cache, ipsub, c->login_fail_ip_limit,
	                       c->login_fail_window_seconds, c->block_seconds);
	acct_block =
	    limits_fail(r->cache, acct, c->login_fail_account_limit,
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
	v = cJSON_CreateObject();
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
		goto out_rollback;
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
			goto out_rollback;
	}
	if (acct_block) {
		e.action = "account_locked";
		if (audit_write(t, &e) < 0 ||
		    alert_raise(t, "account_locked", "user", email,
		                "an account was locked after repeated "
		                "failed logins",
		                v) < 0)
			goto out_rollback;
	}
	cJSON_Delete(v);
	tdb_commit(t);
	return;
out_rollback:
	cJSON_Delete(v);
	tdb_rollback(t);
}

static int
login_platform(struct req *r, const char *email, const char *password,
               const char *acct)
{
	const struct stmt_def *P = store_platform_stmts;
	struct dbres res;
	struct principal p;
	struct session s;
	char rehash[AUTH_HASH_MAX];
	int ok = 0, rc = -1;

	if (db_query(r->db, r->a, &P[PLATFORM_BY_EMAIL], DB_ARGS(DBS(email)),
	             &res) < 0)
		return -1;
	if (res.nrows == 1)
		ok = auth_password_verify(dbres_get(&res, 0, 4), password) ==
		         1 &&
		     strcmp(dbres_get(&res, 0, 3), "1") == 0;
	else
		auth_password_dummy(r->cfg, password);
	if (!ok) {
		login_failed(r, NULL, 0, acct, email);
		return req_fail(r, 401, "unauthorized", bad_login);
	}
	limits_forget(r->cache, acct);
	memset(&p, 0, sizeof(p));
	p.user_id = dbres_int(&res, 0, 0);
	p.role = ROLE_PLATFORM;
	p.platform = 1;
	rehash[0] = '\0';
	if (auth_password_needs_rehash(r->cfg, dbres_get(&res, 0, 4)))
		auth_password_hash(r->cfg, password, rehash, sizeof(rehash));
	if (db_query(r->db, r->a, &P[PLATFORM_LOGIN_DONE],
	             DB_ARGS(DBS(rehash[0] ? rehash : NULL), DBI(p.user_id)),
	             NULL) < 0 ||
	    auth_token_issue(r->cfg, &p, time(NULL), s.access,
	                     sizeof(s.access)) < 0)
		goto out_wipe;
	log_info("platform login admin=%" PRId64, p.user_id);
	{
		cJSON *u = dbres_row_json(&res, 0, NULL);

		cJSON_DeleteItemFromObject(u, "password_hash");
		cJSON_AddStringToObject(u, "role", "platform");
		/* Platform sessions are short: no refresh token. */
		rc = session_response(r, &s, u, 0);
	}
out_wipe:
	explicit_bzero(rehash, sizeof(rehash));
	explicit_bzero(&s, sizeof(s));
	return rc;
}

int
auth_login(struct req *r)
{
	const struct stmt_def *U = store_user_stmts;
	const char *slug = r->vals[L_TENANT].s;
	const char *password = r->vals[L_PASSWORD].s;
	char *email = arena_strdup(r->a, r->vals[L_EMAIL].s);
	char acct[96], rehash[AUTH_HASH_MAX], *key;
	struct dbres tenant, user;
	struct tdb *t = NULL;
	struct principal p;
	struct session s;
	int64_t user_id = 0;
	int ok = 0, rc = -1;

	if (!email)
		return -1;
	identity_fold_email(email);
	key = arena_printf(r->a, "%s\n%s", slug, email);
	if (!key)
		return -1;
	limits_subject("acct", key, acct, sizeof(acct));
	if (limits_blocked(r->cache, acct))
		return req_fail(r, 403, "ip_blocked",
		                "this account is locked for a while after "
		                "repeated failed logins");
	if (strcmp(slug, IDENTITY_PLATFORM_SLUG) == 0)
		return login_platform(r, email, password, acct);

	if (db_query(r->db, r->a, &store_tenant_stmts[TENANT_BY_SLUG],
	             DB_ARGS(DBS(slug)), &tenant) < 0)
		return -1;
	memset(&user, 0, sizeof(user));
	if (tenant.nrows == 1) {
		t = tdb_open(r->db, r->a, dbres_int(&tenant, 0, 0));
		if (!t || tdb_query(t, &U[USER_BY_EMAIL], DB_ARGS(DBS(email)),
		                    &user) < 0)
			return -1;
	}
	/* Columns: id, name, email, role, active, password_hash. */
	if (user.nrows == 1) {
		user_id = dbres_int(&user, 0, 0);
		ok = auth_password_verify(dbres_get(&user, 0, 5), password) ==
		         1 &&
		     strcmp(dbres_get(&user, 0, 4), "1") == 0 &&
		     strcmp(dbres_get(&tenant, 0, 4), "active") == 0;
	} else {
		auth_password_dummy(r->cfg, password);
	}
	if (!ok) {
		login_failed(r, t, user_id, acct, email);
		return req_fail(r, 401, "unauthorized", bad_login);
	}
	limits_forget(r->cache, acct);

	memset(&p, 0, sizeof(p));
	p.user_id = user_id;
	p.tenant_id = dbres_int(&tenant, 0, 0);
	p.role = role_parse(dbres_get(&user, 0, 3));
	rehash[0] = '\0';
	if (auth_password_needs_rehash(r->cfg, dbres_get(&user, 0, 5)) &&
	    auth_password_hash(r->cfg, password, rehash, sizeof(rehash)) < 0)
		goto out_wipe;
	r->tdb = t;
	r->who = p;
	if (tdb_begin(t) < 0 ||
	    tdb_query(t, &U[USER_LOGIN_DONE],
	              DB_ARGS(DBS(rehash[0] ? rehash : NULL), DBI(user_id)),
	              NULL) < 0 ||
	    identity_session_open(t, r->cfg, &p, NULL, 0, r->remote_addr,
	                          r->user_agent, &s, NULL) < 0 ||
	    audit_req(r, "login", "user", user_id, NULL, NULL) < 0 ||
	    tdb_query(t, &U[USER_GET], DB_ARGS(DBI(user_id)), &user) < 0 ||
	    tdb_commit(t) < 0) {
		tdb_rollback(t);
		goto out_wipe;
	}
	rc = session_response(r, &s, user_json(&user), 1);
out_wipe:
	/* The new hash and the session's tokens, on every way out. */
	explicit_bzero(rehash, sizeof(rehash));
	explicit_bzero(&s, sizeof(s));
	return rc;
}

int
auth_refresh(struct req *r)
{
	const struct stmt_def *K = store_token_stmts;
	const char *token = r->vals[0].s;
	unsigned char hash[32];
	struct dbres old, user;
	struct principal p;
	struct session s;
	struct tdb *t;
	int64_t new_id;

	if (!auth_refresh_valid(token))
		return req_fail(r, 401, "unauthorized",
		                "the refresh token is not valid");
	auth_refresh_hash(token, hash);
	if (db_begin(r->db) < 0 ||
	    db_query(r->db, r->a, &K[TOKEN_BY_HASH],
	             DB_ARGS(DBB(hash, sizeof(hash))), &old) < 0)
		goto out_fail;
	if (old.nrows != 1) {
		db_rollback(r->db);
		return req_fail(r, 401, "unauthorized",
		                "the refresh token is not valid");
	}
	/* Columns: id, tenant_id, user_id, family, revoked, rotated, expired */
	t = tdb_open(r->db, r->a, dbres_int(&old, 0, 1));
	if (!t)
		goto out_fail;
	r->tdb = t;
	r->who.tenant_id = dbres_int(&old, 0, 1);
	r->who.user_id = dbres_int(&old, 0, 2);
	if (strcmp(dbres_get(&old, 0, 5), "1") == 0) {
		/*
		 * A rotated token came back: either its owner or a thief
		 * has a copy.  End every session of that login.
		 */
		if (tdb_query(t, &K[TOKEN_REVOKE_FAMILY],
		              DB_ARGS(DBS(dbres_get(&old, 0, 3))), NULL) < 0 ||
		    audit_req(r, "refresh_reuse", "user", r->who.user_id, NULL,
		              NULL) < 0 ||
		    tdb_commit(t) < 0)
			goto out_fail;
		log_warn("refresh token reused, family revoked tenant=%" PRId64
		         " user=%" PRId64,
		         r->who.tenant_id, r->who.user_id);
		return req_fail(r, 401, "unauthorized",
		                "the refresh token was already used; every "
		                "session of this login is now revoked");
	}
	if (strcmp(dbres_get(&old, 0, 4), "1") == 0 ||
	    strcmp(dbres_get(&old, 0, 6), "1") == 0) {
		db_rollback(r->db);
		return req_fail(r, 401, "unauthorized",
		                "the refresh token has expired or was revoked");
	}
	if (tdb_query(t, &store_user_stmts[USER_GET],
	              DB_ARGS(DBI(r->who.user_id)), &user) < 0)
		goto out_fail;
	/* Columns: id, name, email, role, active, ... */
	if (user.nrows != 1 || strcmp(dbres_get(&user, 0, 4), "1") != 0) {
		db_rollback(r->db);
		return req_fail(r, 401, "unauthorized",
		                "the account is no longer active");
	}
	memset(&p, 0, sizeof(p));
	p.user_id = r->who.user_id;
	p.tenant_id = r->who.tenant_id;
	p.role = role_parse(dbres_get(&user, 0, 3));
	if (identity_session_open(t, r->cfg, &p, dbres_get(&old, 0, 3),
	                          dbres_int(&old, 0, 0), r->remote_addr,
	                          r->user_agent, &s, &new_id) < 0 ||
	    tdb_query(t, &K[TOKEN_ROTATE],
	              DB_ARGS(DBI(new_id), DBI(dbres_int(&old, 0, 0))),
	              NULL) < 0 ||
	    tdb_commit(t) < 0)
		goto out_fail;
	return session_response(r, &s, user_json(&user), 1);

out_fail:
	db_rollback(r->db);
	return -1;
}

int
auth_logout(struct req *r)
{
	const struct stmt_def *K = store_token_stmts;
	const char *token = r->vals[0].s;
	unsigned char hash[32];
	struct dbres old, res;
	struct tdb *t;

	/* Logging out with an unknown token changes nothing: still 204. */
	if (!auth_refresh_valid(token))
		return req_no_content(r);
	auth_refresh_hash(token, hash);
	if (db_begin(r->db) < 0 ||
	    db_query(r->db, r->a, &K[TOKEN_BY_HASH],
	             DB_ARGS(DBB(hash, sizeof(hash))), &old) < 0)
		goto out_fail;
	if (old.nrows != 1) {
		db_rollback(r->db);
		return req_no_content(r);
	}
	t = tdb_open(r->db, r->a, dbres_int(&old, 0, 1));
	if (!t)
		goto out_fail;
	r->tdb = t;
	r->who.tenant_id = dbres_int(&old, 0, 1);
	r->who.user_id = dbres_int(&old, 0, 2);
	if (tdb_query(t, &K[TOKEN_REVOKE], DB_ARGS(DBI(dbres_int(&old, 0, 0))),
	              &res) < 0)
		goto out_fail;
	if (res.affected == 1 &&
	    audit_req(r, "logout", "user", r->who.user_id, NULL, NULL) < 0)
		goto out_fail;
	if (tdb_commit(t) < 0)
		goto out_fail;
	return req_no_content(r);

out_fail:
	db_rollback(r->db);
	return -1;
}

int
auth_me(struct req *r)
{
	cJSON *d = cJSON_CreateObject(), *tenant;
	const struct dbres *row = r->who_row;

	if (r->who.platform) {
		struct dbres res;

		if (db_query(r->db, r->a, &store_platform_stmts[PLATFORM_GET],
		             DB_ARGS(DBI(r->who.user_id)), &res) < 0 ||
		    res.nrows != 1) {
			cJSON_Delete(d);
			return -1;
		}
		cJSON_AddItemToObject(d, "user", dbres_row_json(&res, 0, NULL));
		cJSON_AddStringToObject(d, "role", "platform");
		cJSON_AddNullToObject(d, "tenant");
		return req_data(r, 200, d);
	}
	/* The dispatcher already read the user and tenant: no query here. */
	cJSON_AddItemToObject(d, "user", user_json(row));
	cJSON_AddStringToObject(d, "role", role_name((enum role)r->who.role));
	tenant = cJSON_AddObjectToObject(d, "tenant");
	json_add_int(tenant, "id", r->who.tenant_id);
	cJSON_AddStringToObject(tenant, "slug", dbres_get(row, 0, 9));
	cJSON_AddStringToObject(tenant, "name", dbres_get(row, 0, 10));
	cJSON_AddStringToObject(tenant, "timezone", dbres_get(row, 0, 11));
	cJSON_AddStringToObject(tenant, "status", dbres_get(row, 0, 12));
	return req_data(r, 200, d);
}
