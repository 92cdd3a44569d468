/*
 * Network devices: OLTs, switches, access points, servers (the MikroTik
 * routers that provision customers are /routers).
 *
 * password and snmp_community are write-only: sealed with AES-256-GCM
 * (lib/crypto.h) bound to "device:<tenant>:<id>:<field>", stored, and
 * never returned in any form (not even masked or as a "set" flag); the
 * audit log sees only "credentials_changed": [names].  null clears one.
 *
 * POST /devices/{id}/check probes the device now (lib/probe.h: an ICMP
 * echo where the kernel allows unprivileged ones, then a TCP connect to
 * port) and records the result through store_device_record_check(): the
 * same path rtrw-monitor devices takes.
 *
 * What depends on a device: other live devices naming it as their
 * uplink_id (the network tree).  DELETE answers 409 in_use while there
 * are any; otherwise it soft-deletes the row, wipes its secrets and
 * resolves its device_offline alert.  Customers hang off routers
 * (customers.router_id), not devices.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "arena.h"
#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "fields.h"
#include "json.h"
#include "probe.h"
#include "store/store.h"

#define SECRET_MAX       200
#define CHECK_TIMEOUT_MS 2000
#define UPLINK_DEPTH_MAX 32

static const char *const device_types[] = {"router", "olt",   "switch", "ap",
                                           "server", "other", NULL};
static const char *const device_statuses[] = {"online", "offline", "unknown",
                                              NULL};

/* clang-format off */
const struct field device_create_fields[] = {
	{ "name",           FT_STRING,   1, 100,   F_REQUIRED | F_TEXT, NULL },
	{ "type",           FT_ENUM,     0, 0,     F_REQUIRED, device_types },
	{ "ip_address",     FT_IP,       0, 0,     F_REQUIRED, NULL },
	{ "port",           FT_INT,      1, 65535, F_NULLABLE, NULL },
	{ "location",       FT_STRING,   0, 200,   F_TEXT | F_NULLABLE, NULL },
	{ "username",       FT_STRING,   0, 100,   F_TEXT | F_NULLABLE, NULL },
	{ "password",       FT_PASSWORD, 1, SECRET_MAX, F_WRITE_ONLY | F_NULLABLE, NULL },
	{ "snmp_community", FT_PASSWORD, 1, SECRET_MAX, F_WRITE_ONLY | F_NULLABLE, NULL },
	{ "uplink_id",      FT_ID,       0, 0,     F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
const struct field device_update_fields[] = {
	{ "name",           FT_STRING,   1, 100,   F_TEXT, NULL },
	{ "type",           FT_ENUM,     0, 0,     0, device_types },
	{ "ip_address",     FT_IP,       0, 0,     0, NULL },
	{ "port",           FT_INT,      1, 65535, F_NULLABLE, NULL },
	{ "location",       FT_STRING,   0, 200,   F_TEXT | F_NULLABLE, NULL },
	{ "username",       FT_STRING,   0, 100,   F_TEXT | F_NULLABLE, NULL },
	{ "password",       FT_PASSWORD, 1, SECRET_MAX, F_WRITE_ONLY | F_NULLABLE, NULL },
	{ "snmp_community", FT_PASSWORD, 1, SECRET_MAX, F_WRITE_ONLY | F_NULLABLE, NULL },
	{ "uplink_id",      FT_ID,       0, 0,     F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	D_NAME,
	D_TYPE,
	D_IP,
	D_PORT,
	D_LOCATION,
	D_USERNAME,
	D_PASSWORD,
	D_SNMP,
	D_UPLINK
};

/* The orders of lib/store/device.c, in the same order. */
static const char *const device_sorts[] = {
    "name", "-name", "created_at", "-created_at", "status", "-last_seen", NULL,
};

/* Columns of DEVICE_COLS used here. */
enum { COL_ID, COL_NAME, COL_TYPE, COL_IP, COL_PORT };

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "device not found");
}

/*
 * Checks uplink for device id (0 while creating): it must be another
 * live device of the tenant and must not hang off id itself.  1 fine, 0
 * after a 422, -1 on error.
 */
static int
uplink_ok(struct req *r, int64_t id, int64_t uplink)
{
	const struct stmt_def *D = store_device_stmts;
	struct dbres res;
	int64_t cur = uplink;

	if (uplink == id) {
		req_invalid(r, "uplink_id", "must not be the device itself");
		return 0;
	}
	for (int depth = 0; cur; depth++) {
		if (depth >= UPLINK_DEPTH_MAX || (id && cur == id)) {
			req_invalid(r, "uplink_id",
			            "would make a loop in the network tree");
			return 0;
		}
		if (tdb_query(r->tdb, &D[DEVICE_UPLINK_OF], DB_ARGS(DBI(cur)),
		              &res) < 0)
			return -1;
		if (res.nrows != 1) {
			if (cur == uplink) {
				req_invalid(r, "uplink_id",
				            "must be a device of this tenant");
				return 0;
			}
			break;
		}
		cur = dbres_int(&res, 0, 0);
	}
	return 1;
}

/*
 * Seals and stores the secrets present in the request for device id;
 * adds their names to changed.  0 or -1.
 */
static int
store_secrets(struct req *r, int64_t id, cJSON *changed)
{
	static const char *const names[] = {"password", "snmp_community"};
	const struct fval *v[2] = {&r->vals[D_PASSWORD], &r->vals[D_SNMP]};
	unsigned char sealed[2][SECRET_MAX * 4 + CRYPTO_OVERHEAD];
	long len[2] = {0, 0};
	int rc = -1;

	if (!v[0]->present && !v[1]->present)
		return 0;
	for (int i = 0; i < 2; i++) {
		char aad[96];

		if (!v[i]->present)
			continue;
		cJSON_AddItemToArray(changed, cJSON_CreateString(names[i]));
		if (v[i]->is_null)
			continue;
		snprintf(aad, sizeof(aad), "device:%" PRId64 ":%" PRId64 ":%s",
		         tdb_tenant(r->tdb), id, names[i]);
		len[i] = crypto_seal(r->cfg, aad, v[i]->s, v[i]->len, sealed[i],
		                     sizeof(sealed[i]));
		if (len[i] < 0)
			goto out_wipe;
	}
	rc = tdb_query(
	    r->tdb, &store_device_stmts[DEVICE_SET_SECRETS],
	    DB_ARGS(DBI(v[0]->present),
	            len[0] > 0 ? DBB(sealed[0], (size_t)len[0]) : DBNULL('b'),
	            DBI(v[1]->present),
	            len[1] > 0 ? DBB(sealed[1], (size_t)len[1]) : DBNULL('b'),
	            DBI(id)),
	    NULL);
out_wipe:
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

int
devices_list(struct req *r)
{
	const struct stmt_def *D = store_device_stmts;
	const char *type, *status, *location;
	int64_t page, per_page;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, device_sorts, &sort) < 0 ||
	    req_param_enum(r, "type", device_types, &type) < 0 ||
	    req_param_enum(r, "status", device_statuses, &status) < 0)
		return -1;
	location = req_param(r, "location");
#define FILTER_ARGS                                                            \
	DBS(type), DBS(type), DBS(status), DBS(status), DBS(location),         \
	    DBS(location)
	if (tdb_query_order(
	        r->tdb, &D[DEVICE_LIST], sort,
	        DB_ARGS(FILTER_ARGS, DBI(per_page), DBI((page - 1) * per_page)),
	        &rows) < 0 ||
	    tdb_query(r->tdb, &D[DEVICE_COUNT], DB_ARGS(FILTER_ARGS), &count) <
	        0)
		return -1;
#undef FILTER_ARGS
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
devices_get(struct req *r)
{
	return req_get_one(r, &store_device_stmts[DEVICE_GET], NULL,
	                   "device not found");
}

int
devices_create(struct req *r)
{
	const struct stmt_def *D = store_device_stmts;
	const struct fval *v = r->vals;
	int64_t uplink =
	    v[D_UPLINK].present && !v[D_UPLINK].is_null ? v[D_UPLINK].i : 0;
	struct dbres res, row;
	cJSON *new, *changed;
	int64_t id;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (uplink && uplink_ok(r, 0, uplink) <= 0) {
		tdb_rollback(r->tdb);
		return -1;
	}
	if (tdb_query(r->tdb, &D[DEVICE_INSERT],
	              DB_ARGS(DBS(v[D_NAME].s), DBS(v[D_TYPE].s),
	                      DBS(v[D_IP].s),
	                      DBI(v[D_PORT].present && !v[D_PORT].is_null
	                              ? v[D_PORT].i
	                              : 0),
	                      DBS(fval_str(&v[D_LOCATION])),
	                      DBS(fval_str(&v[D_USERNAME])), DBI(uplink)),
	              &res) < 0)
		goto out_fail;
	id = (int64_t)res.insert_id;
	changed = json_own(r->a, cJSON_CreateArray());
	if (!changed || store_secrets(r, id, changed) < 0 ||
	    tdb_query(r->tdb, &D[DEVICE_GET], DB_ARGS(DBI(id)), &row) < 0 ||
	    row.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&row, 0, NULL));
	if (!new)
		goto out_fail;
	cJSON_AddItemReferenceToObject(new, "credentials_changed", changed);
	if (audit_req(r, "create", "device", id, NULL, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&row, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
devices_update(struct req *r)
{
	const struct stmt_def *D = store_device_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	int64_t uplink =
	    v[D_UPLINK].present && !v[D_UPLINK].is_null ? v[D_UPLINK].i : 0;
	struct dbres before, after;
	cJSON *old, *new, *changed;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &D[DEVICE_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	if (uplink && uplink_ok(r, id, uplink) <= 0) {
		tdb_rollback(r->tdb);
		return -1;
	}
	changed = json_own(r->a, cJSON_CreateArray());
	if (!changed ||
	    tdb_query(
	        r->tdb, &D[DEVICE_UPDATE],
	        DB_ARGS(
	            DBS(fval_str(&v[D_NAME])), DBS(fval_str(&v[D_TYPE])),
	            DBS(fval_str(&v[D_IP])), DBI(v[D_PORT].present),
	            DBI(v[D_PORT].present && !v[D_PORT].is_null ? v[D_PORT].i
	                                                        : 0),
	            DBI(v[D_LOCATION].present), DBS(fval_str(&v[D_LOCATION])),
	            DBI(v[D_USERNAME].present), DBS(fval_str(&v[D_USERNAME])),
	            DBI(v[D_UPLINK].present), DBI(uplink), DBI(id)),
	        NULL) < 0 ||
	    store_secrets(r, id, changed) < 0 ||
	    tdb_query(r->tdb, &D[DEVICE_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (!old || !new)
		goto out_fail;
	cJSON_AddItemReferenceToObject(new, "credentials_changed", changed);
	if (audit_req(r, "update", "device", id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
devices_delete(struct req *r)
{
	const struct stmt_def *D = store_device_stmts;
	int64_t id = r->ids[0];
	struct dbres before, users;
	char subject[24];
	cJSON *old;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &D[DEVICE_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0 ||
	    (before.nrows == 1 && tdb_query(r->tdb, &D[DEVICE_IN_USE],
	                                    DB_ARGS(DBI(id)), &users) < 0))
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	if (dbres_int(&users, 0, 0) > 0) {
		tdb_rollback(r->tdb);
		return req_fail(r, 409, "in_use",
		                arena_printf(r->a,
		                             "%" PRId64 " other device(s) use "
		                             "this device as their uplink; "
		                             "move them first",
		                             dbres_int(&users, 0, 0)));
	}
	snprintf(subject, sizeof(subject), "%" PRId64, id);
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	if (!old ||
	    tdb_query(r->tdb, &D[DEVICE_DELETE], DB_ARGS(DBI(id)), NULL) < 0 ||
	    alert_resolve(r->tdb, "device_offline", "device", subject) < 0 ||
	    audit_req(r, "delete", "device", id, old, NULL) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_no_content(r);
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
devices_check(struct req *r)
{
	struct probe_target t;
	struct dbres res, after;
	enum device_state st;
	cJSON *probe, *out;
	int rc;

	if (tdb_query(r->tdb, &store_device_stmts[DEVICE_GET],
	              DB_ARGS(DBI(r->ids[0])), &res) < 0)
		return -1;
	if (res.nrows != 1)
		return not_found(r);
	/* The probe runs outside any transaction: it may take seconds. */
	memset(&t, 0, sizeof(t));
	t.host = dbres_get(&res, 0, COL_IP);
	t.port = (int)dbres_int(&res, 0, COL_PORT);
	if (probe_run(&t, 1, 1, CHECK_TIMEOUT_MS) < 0)
		return -1;
	st = t.verdict == PROBE_ONLINE    ? DEVICE_ONLINE
	     : t.verdict == PROBE_OFFLINE ? DEVICE_OFFLINE
	                                  : DEVICE_UNKNOWN;
	probe = json_own(r->a, cJSON_CreateObject());
	if (!probe)
		return -1;
	cJSON_AddStringToObject(probe, "icmp", probe_icmp_name(t.icmp));
	cJSON_AddStringToObject(probe, "tcp", probe_tcp_name(t.tcp));
	if (t.icmp_ms >= 0)
		json_add_int(probe, "icmp_ms", t.icmp_ms);
	if (t.tcp_ms >= 0)
		json_add_int(probe, "tcp_ms", t.tcp_ms);
	rc = store_device_record_check(r->tdb, r->ids[0], st, r->who.user_id,
	                               r->remote_addr, r->user_agent, probe,
	                               &after);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return not_found(r);
	out = dbres_row_json(&after, 0, NULL);
	if (out)
		cJSON_AddItemToObject(out, "check", cJSON_Duplicate(probe, 1));
	return req_data(r, 200, out);
}
