/*
 * MikroTik routers (API.md "Devices and routers", "Routers and
 * provisioning: details").
 *
 * Create and every PATCH that touches a connection field (host,
 * api_port, use_tls, tls_anonymous, tls_fingerprint, username, password)
 * log into the router first, outside any transaction, with the
 * configuration's short timeouts (router_connect_timeout_ms +
 * router_read_timeout_ms: 7 s at most by default): a router that cannot
 * be logged into is refused with 422 router_unreachable or
 * router_auth_failed and nothing is stored.  The login records identity
 * and routeros_version.
 *
 * password is write-only: sealed under "router:<tenant>:<id>:password"
 * (lib/routerlink.h), never returned, not even masked; the plain text in
 * the request is wiped once sealed.  The audit entry says
 * "password_changed": true, nothing more.
 *
 * tls_fingerprint pins the SHA-256 of the api-ssl certificate: give the
 * 64 hex digits (or "AB:CD:..." as openssl prints them) to pin a known
 * certificate, or "learn" to pin whatever certificate the router
 * presents at this login (trust on first use, when the operator asks);
 * null removes the pin.  A pinned router that presents another
 * certificate is refused before the password is sent.  tls_anonymous is
 * for an api-ssl without certificate (anonymous DH, TLS 1.2, OpenSSL
 * security level 0): it encrypts but authenticates nothing, cannot be
 * pinned, and implies use_tls.  api_port defaults to 8728, or 8729 with
 * TLS.
 *
 * POST /routers/{id}/test logs in now and answers 200 with the router
 * (status online or offline, last_error), never an error for a router
 * that is down.  POST /routers/{id}/sync[?dry_run=true] and
 * /routers/{id}/import run lib/provision.c under the router's
 * provisioning lease (409 conflict while a pass holds it).  DELETE is
 * 409 in_use while live, non-terminated customers use the router.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "arena.h"
#include "crypto.h"
#include "fields.h"
#include "json.h"
#include "nudge.h"
#include "provision.h"
#include "reply.h"
#include "routerlink.h"
#include "store/provision.h"
#include "store/router.h"
#include "util.h"

static const char *const router_statuses[] = {"unknown", "online", "offline",
                                              NULL};

/* One table for POST and PATCH (the PATCH route is partial). */
/* clang-format off */
const struct field router_fields[] = {
	{ "name",                 FT_STRING,   1, 100, F_REQUIRED | F_TEXT, NULL },
	{ "host",                 FT_IP,       0, 0,   F_REQUIRED, NULL },
	{ "api_port",             FT_INT,      1, 65535, F_NULLABLE, NULL },
	{ "use_tls",              FT_BOOL,     0, 0,   0, NULL },
	{ "tls_anonymous",        FT_BOOL,     0, 0,   0, NULL },
	{ "tls_fingerprint",      FT_STRING,   1, 95,  F_NULLABLE, NULL },
	{ "username",             FT_STRING,   1, 100, F_REQUIRED | F_TEXT, NULL },
	{ "password",             FT_PASSWORD, 1, ROUTERLINK_PASSWORD_MAX, F_REQUIRED | F_WRITE_ONLY, NULL },
	{ "uplink_capacity_kbps", FT_INT,      1, 100000000, F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	ROUTER_F_NAME,
	ROUTER_F_HOST,
	ROUTER_F_PORT,
	ROUTER_F_TLS,
	ROUTER_F_ANON,
	ROUTER_F_FINGERPRINT,
	ROUTER_F_USERNAME,
	ROUTER_F_PASSWORD,
	ROUTER_F_UPLINK,
};

/* clang-format off */
const struct field router_import_fields[] = {
	{ "service_plan_id", FT_ID,     0, 0,    F_NULLABLE, NULL },
	{ "profiles",        FT_ID_MAP, 0, 1000, F_NULLABLE, NULL },
	{ "dry_run",         FT_BOOL,   0, 0,    0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	IMPORT_F_PLAN,
	IMPORT_F_PROFILES,
	IMPORT_F_DRY_RUN,
};

/* clang-format off */
static const struct filter_def router_filters[] = {
	FILTER_ENUM_(struct router_filter, status, router_statuses,
	             "only routers with this status"),
	FILTER_END
};
/* clang-format on */

const struct list_spec router_list_spec = {
    .store = &store_router_list,
    .filters = router_filters,
};

/* POST /routers/{id}/sync?dry_run=true: its one query parameter. */
struct sync_query {
	int dry_run;
};

/* clang-format off */
static const struct filter_def sync_params[] = {
	FILTER_BOOL_(struct sync_query, dry_run,
	             "report the differences, change nothing"),
	FILTER_END
};
/* clang-format on */

/* The route table names it for --schema: query parameters only. */
const struct list_spec router_sync_query = {.filters = sync_params};

/* What a request asks of a router's connection, once merged. */
struct conn_change {
	int changed; /* a connection field is in the request */
	int learn;   /* tls_fingerprint "learn" */
	char fp[ROS_FINGERPRINT_HEX + 1];
	char *password; /* the request's, in the arena; wiped after use */
	size_t password_len;
};

static int
default_port(int use_tls)
{
	return use_tls ? ROS_TLS_PORT : ROS_PORT;
}

/*
 * Lays the request over rt and checks the TLS settings as a whole.  0,
 * or -1 after a 422.
 */
static int
router_apply(struct req *r, struct router *rt, struct conn_change *cc)
{
	const struct fval *v = r->vals;
	int old_tls = rt->use_tls || rt->tls_anonymous;
	int64_t old_port = rt->api_port;

	memset(cc, 0, sizeof(*cc));
	for (int i = ROUTER_F_HOST; i <= ROUTER_F_PASSWORD; i++)
		cc->changed |= v[i].present;
	if (v[ROUTER_F_NAME].present)
		rt->name = v[ROUTER_F_NAME].s;
	if (v[ROUTER_F_HOST].present)
		rt->host = v[ROUTER_F_HOST].s;
	if (v[ROUTER_F_TLS].present)
		rt->use_tls = (int)v[ROUTER_F_TLS].i;
	if (v[ROUTER_F_ANON].present)
		rt->tls_anonymous = (int)v[ROUTER_F_ANON].i;
	if (rt->tls_anonymous)
		rt->use_tls = 1;
	if (v[ROUTER_F_USERNAME].present)
		rt->username = v[ROUTER_F_USERNAME].s;
	if (v[ROUTER_F_UPLINK].present)
		rt->uplink_capacity_kbps =
		    v[ROUTER_F_UPLINK].is_null ? 0 : v[ROUTER_F_UPLINK].i;
	if (v[ROUTER_F_PORT].present && !v[ROUTER_F_PORT].is_null)
		rt->api_port = v[ROUTER_F_PORT].i;
	else if (v[ROUTER_F_PORT].present || !old_port ||
	         old_port == default_port(old_tls))
		rt->api_port = default_port(rt->use_tls);
	if (v[ROUTER_F_FINGERPRINT].present) {
		const char *fp = fval_str(&v[ROUTER_F_FINGERPRINT]);
		unsigned char raw[ROS_FINGERPRINT_LEN];

		rt->tls_fingerprint = NULL;
		if (fp && strcmp(fp, "learn") == 0) {
			cc->learn = 1;
		} else if (fp) {
			if (ros_fingerprint_parse(fp, raw) < 0)
				return req_invalid(
				    r, "tls_fingerprint",
				    "must be \"learn\" or a SHA-256 "
				    "fingerprint: 64 hex digits, optionally "
				    "with ':' between the bytes");
			hex_encode(raw, sizeof(raw), cc->fp);
			rt->tls_fingerprint = cc->fp;
		}
	}
	if (rt->tls_anonymous && (rt->tls_fingerprint || cc->learn))
		return req_invalid(r, "tls_fingerprint",
		                   "an anonymous TLS connection has no "
		                   "certificate to pin");
	if (!rt->use_tls && (rt->tls_fingerprint || cc->learn))
		return req_invalid(r, "tls_fingerprint",
		                   "pinning needs use_tls: true");
	if (v[ROUTER_F_PASSWORD].present) {
		cc->password = (char *)v[ROUTER_F_PASSWORD].s;
		cc->password_len = v[ROUTER_F_PASSWORD].len;
	}
	return 0;
}

/* Wipes the request's copy of the password. */
static void
wipe_password(struct conn_change *cc)
{
	if (cc->password)
		explicit_bzero(cc->password, cc->password_len);
}

/* The connection settings of rt as the link layer wants them. */
static void
router_conn(const struct router *rt, int64_t tenant_id,
            struct router_secret *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->id = rt->id;
	rs->tenant_id = tenant_id;
	rs->name = rt->name;
	rs->host = rt->host;
	rs->api_port = rt->api_port;
	rs->use_tls = rt->use_tls;
	rs->tls_anonymous = rt->tls_anonymous;
	rs->tls_fingerprint = rt->tls_fingerprint;
	rs->username = rt->username;
}

/* 422 for a login that failed: auth, or anything else. */
static int
login_failed(struct req *r, const struct ros_error *err)
{
	char text[400];

	routerlink_error_text(err, text, sizeof(text));
	if (err->code == ROS_ERR_AUTH)
		return req_fail(r, 422, "router_auth_failed",
		                arena_printf(r->a,
		                             "the router refused the login: %s",
		                             err->message));
	return req_fail(
	    r, 422, "router_unreachable",
	    arena_printf(r->a, "the router could not be reached: %s", text));
}

/*
 * Logs into rt with password (plain, wiped here) and fills info; 0, or
 * -1 after the 422.
 */
static int
login_test(struct req *r, const struct router *rt, char *password,
           struct routerlink_info *info)
{
	struct router_secret rs;
	struct ros_error err;
	struct ros_conn *c;

	router_conn(rt, tdb_tenant(r->tdb), &rs);
	c = routerlink_open(r->cfg, &rs, password, 0, r->a, info, &err);
	if (!c)
		return login_failed(r, &err);
	ros_close(c);
	return 0;
}

/* Seals and stores password (NUL-terminated) for router id; 0 or -1. */
static int
set_password(struct req *r, int64_t id, const char *password, size_t n)
{
	unsigned char sealed[ROUTERLINK_PASSWORD_MAX * 4 + CRYPTO_OVERHEAD];
	char aad[96];
	long len;
	int rc;

	routerlink_aad(aad, sizeof(aad), tdb_tenant(r->tdb), id);
	len = crypto_seal(r->cfg, aad, password, n, sealed, sizeof(sealed));
	rc = len < 0
	         ? -1
	         : store_router_set_password(r->tdb, id, sealed, (size_t)len);
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

/*
 * Records a good login's identity and version (a learnt pin is already
 * in the row's tls_fingerprint); 0 or -1.
 */
static int
record_login(struct req *r, int64_t id, const struct routerlink_info *info)
{
	return routerlink_record(r->tdb, id, NULL, info, NULL) < 0 ? -1 : 0;
}

/* The router as JSON for the audit log, with a password flag. */
static cJSON *
audit_view(struct req *r, const struct router *rt, int password_changed)
{
	cJSON *v = json_own(r->a, row_json(&router_row, rt));

	if (v && password_changed)
		cJSON_AddTrueToObject(v, "password_changed");
	return v;
}

int
routers_list(struct req *r)
{
	return reply_list(r, &router_list_spec);
}

int
routers_get(struct req *r)
{
	struct router rt;

	if (req_found(r, store_router_get(r->tdb, r->ids[0], &rt), "router") <
	    0)
		return -1;
	return reply_row(r, 200, &router_row, &rt);
}

int
routers_create(struct req *r)
{
	struct router rt = {0}, after;
	struct routerlink_info info;
	struct conn_change cc;
	char *plain;
	cJSON *new;
	int64_t id;
	int rc = -1;

	if (router_apply(r, &rt, &cc) < 0)
		goto out_wipe;
	/* The login wipes its copy; the sealing needs another. */
	plain = arena_strndup(r->a, cc.password, cc.password_len);
	if (!plain)
		goto out_wipe;
	if (login_test(r, &rt, plain, &info) < 0)
		goto out_wipe;
	if (cc.learn) {
		snprintf(cc.fp, sizeof(cc.fp), "%s", info.fingerprint);
		rt.tls_fingerprint = cc.fp[0] ? cc.fp : NULL;
	}
	if (tdb_begin(r->tdb) < 0 ||
	    store_router_insert(r->tdb, &rt, &id) < 0 ||
	    set_password(r, id, cc.password, cc.password_len) < 0 ||
	    record_login(r, id, &info) < 0 ||
	    store_router_get(r->tdb, id, &after) != 1 ||
	    !(new = audit_view(r, &after, 1)) ||
	    req_audit(r, "create", "router", id, NULL, new) < 0)
		goto out_wipe;
	rc = reply_commit(r, 201, &router_row, &after);
out_wipe:
	wipe_password(&cc);
	return rc;
}

int
routers_update(struct req *r)
{
	int64_t id = r->ids[0];
	struct router before, rt, after;
	struct routerlink_info info;
	struct router_secret rs;
	struct conn_change cc = {0};
	char pw[ROUTERLINK_PASSWORD_MAX * 4 + 1];
	cJSON *old, *new;
	int rc = -1;

	memset(pw, 0, sizeof(pw));
	if (req_found(r, store_router_get(r->tdb, id, &before), "router") < 0)
		goto out_wipe;
	rt = before;
	if (router_apply(r, &rt, &cc) < 0)
		goto out_wipe;
	if (cc.changed) {
		/* The new settings must log in: with the new password or the
		 * stored one. */
		if (cc.password) {
			snprintf(pw, sizeof(pw), "%s", cc.password);
		} else {
			int found = store_router_secret(r->tdb, id, &rs);

			if (found < 0)
				goto out_wipe;
			if (found == 0 || routerlink_password(r->cfg, &rs, pw,
			                                      sizeof(pw)) < 0) {
				req_invalid(r, "password",
				            "the stored password does not "
				            "open; send it again");
				goto out_wipe;
			}
		}
		if (login_test(r, &rt, pw, &info) < 0)
			goto out_wipe;
		if (cc.learn) {
			snprintf(cc.fp, sizeof(cc.fp), "%s", info.fingerprint);
			rt.tls_fingerprint = cc.fp[0] ? cc.fp : NULL;
		}
	}
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_router_lock(r->tdb, id, &before), "router") <
	        0 ||
	    store_router_update(r->tdb, &rt) < 0 ||
	    (cc.password &&
	     set_password(r, id, cc.password, cc.password_len) < 0) ||
	    (cc.changed && (record_login(r, id, &info) < 0 ||
	                    store_provision_router_unpause(r->tdb, id) < 0)) ||
	    store_router_get(r->tdb, id, &after) != 1 ||
	    !(old = audit_view(r, &before, 0)) ||
	    !(new = audit_view(r, &after, cc.password != NULL)) ||
	    req_audit(r, "update", "router", id, old, new) < 0)
		goto out_wipe;
	rc = reply_commit(r, 200, &router_row, &after);
	/* Jobs that waited on the old settings may run now. */
	if (rc == 0 && cc.changed)
		nudge_send(r->cfg);
out_wipe:
	explicit_bzero(pw, sizeof(pw));
	wipe_password(&cc);
	return rc;
}

int
routers_delete(struct req *r)
{
	int64_t id = r->ids[0], users;
	struct router before;
	char subject[24];

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_router_lock(r->tdb, id, &before), "router") <
	        0 ||
	    store_router_users(r->tdb, id, &users) < 0)
		return -1;
	if (users > 0)
		return req_fail(r, 409, "in_use",
		                arena_printf(r->a,
		                             "%" PRId64 " customer(s) use this "
		                             "router; move or terminate them "
		                             "first",
		                             users));
	snprintf(subject, sizeof(subject), "%" PRId64, id);
	if (store_router_delete(r->tdb, id) < 0 ||
	    alert_resolve(r->tdb, "router_offline", "router", subject) < 0 ||
	    req_record(r, "delete", "router", id, &router_row, &before, NULL,
	               NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}

int
routers_test(struct req *r)
{
	int64_t id = r->ids[0], waiting = 0;
	struct router_secret rs;
	struct routerlink_info info;
	struct ros_error err;
	struct ros_conn *c;
	struct router after;
	int rc;

	if (req_found(r, store_router_secret(r->tdb, id, &rs), "router") < 0)
		return -1;
	/* The login runs outside any transaction: it may take seconds. */
	c = routerlink_connect(r->cfg, &rs, 0, r->a, &info, &err);
	ros_close(c);
	if (tdb_begin(r->tdb) < 0)
		return -1;
	rc = routerlink_record(r->tdb, id, c ? NULL : &err, &info, NULL);
	if (req_found(r, rc, "router") < 0 ||
	    (c && (store_provision_router_unpause(r->tdb, id) < 0 ||
	           store_provision_unfinished(r->tdb, id, &waiting) < 0)) ||
	    store_router_get(r->tdb, id, &after) != 1)
		return -1;
	rc = reply_commit(r, 200, &router_row, &after);
	if (rc == 0 && waiting)
		nudge_send(r->cfg);
	return rc;
}

/* The answer for a sync or import that did not complete. */
static int
provision_failed(struct req *r, enum provision_status st,
                 const struct ros_error *err, const char *message)
{
	switch (st) {
	case PROVISION_GONE:
		return req_fail(r, 404, "not_found", "router not found");
	case PROVISION_BUSY:
		return req_fail(r, 409, "conflict",
		                "a provisioning pass is using this router "
		                "right now; try again in a few seconds");
	case PROVISION_ROUTER:
		return login_failed(r, err);
	case PROVISION_INVALID:
		/* The error outlives the caller's buffer: copy it. */
		return req_fail(r, 422, "validation_failed",
		                arena_strdup(r->a, message));
	default:
		return -1;
	}
}

int
routers_sync(struct req *r)
{
	char owner[100];
	struct sync_query q = {0};
	struct ros_error err;
	enum provision_status st;
	cJSON *d, *changes;
	int dry;

	if (req_query(r, sync_params, &q) < 0)
		return -1;
	dry = q.dry_run;
	d = cJSON_CreateObject();
	changes = cJSON_AddArrayToObject(d, "changes");
	if (!d || !changes) {
		cJSON_Delete(d);
		return -1;
	}
	provision_owner(owner, sizeof(owner));
	st = provision_sync(r->cfg, r->tdb, r->a, r->ids[0], dry, owner,
	                    changes, &err);
	if (st != PROVISION_OK) {
		cJSON_Delete(d);
		return provision_failed(r, st, &err, "");
	}
	cJSON_AddBoolToObject(d, "applied", !dry);
	cJSON_AddBoolToObject(d, "dry_run", dry);
	return req_data(r, 200, d);
}

int
routers_import(struct req *r)
{
	const struct fval *v = r->vals;
	struct provision_import_req q = {0};
	char owner[100], message[200];
	struct ros_error err;
	enum provision_status st;
	cJSON *d, *created, *skipped;

	q.default_plan = v[IMPORT_F_PLAN].present && !v[IMPORT_F_PLAN].is_null
	                     ? v[IMPORT_F_PLAN].i
	                     : 0;
	q.profiles =
	    v[IMPORT_F_PROFILES].present && !v[IMPORT_F_PROFILES].is_null
	        ? cJSON_GetObjectItemCaseSensitive(r->json, "profiles")
	        : NULL;
	q.dry_run = v[IMPORT_F_DRY_RUN].present && v[IMPORT_F_DRY_RUN].i;
	q.user_id = r->who.user_id;
	q.ip = r->remote_addr;
	q.user_agent = r->user_agent;
	d = cJSON_CreateObject();
	created = cJSON_AddArrayToObject(d, "created");
	skipped = cJSON_AddArrayToObject(d, "skipped");
	if (!d || !created || !skipped) {
		cJSON_Delete(d);
		return -1;
	}
	provision_owner(owner, sizeof(owner));
	st = provision_import(r->cfg, r->tdb, r->a, r->ids[0], &q, owner,
	                      created, skipped, message, sizeof(message), &err);
	if (st != PROVISION_OK) {
		cJSON_Delete(d);
		return provision_failed(r, st, &err, message);
	}
	if (q.dry_run) {
		/* A dry run has no ids: it names the secrets it would import.
		 */
		cJSON_DetachItemViaPointer(d, created);
		cJSON_AddItemToObject(d, "would_create", created);
		cJSON_AddArrayToObject(d, "created");
	}
	cJSON_AddBoolToObject(d, "dry_run", q.dry_run);
	return req_data(r, 200, d);
}
