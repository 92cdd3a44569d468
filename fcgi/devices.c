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
 * port) and records the result through devcheck_record() (lib/devcheck.h): the
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
#include "crypto.h"
#include "devcheck.h"
#include "fields.h"
#include "json.h"
#include "probe.h"
#include "reply.h"
#include "store/device.h"

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
	DEVICE_F_NAME,
	DEVICE_F_TYPE,
	DEVICE_F_IP,
	DEVICE_F_PORT,
	DEVICE_F_LOCATION,
	DEVICE_F_USERNAME,
	DEVICE_F_PASSWORD,
	DEVICE_F_SNMP,
	DEVICE_F_UPLINK,
};

/* clang-format off */
static const struct filter_def device_filters[] = {
	FILTER_ENUM_(struct device_filter, type, device_types,
	             "only devices of this type"),
	FILTER_ENUM_(struct device_filter, status, device_statuses,
	             "only devices with this status"),
	FILTER_TEXT_(struct device_filter, location, 200,
	             "only devices at this location (exact)"),
	FILTER_END
};
/* clang-format on */

const struct list_spec device_list_spec = {
    .store = &store_device_list,
    .filters = device_filters,
};

/*
 * Checks uplink for device id (0 while creating): it must be another
 * live device of the tenant and must not hang off id itself.  0 fine,
 * -1 after a 422 or on error.
 */
static int
uplink_ok(struct req *r, int64_t id, int64_t uplink)
{
	int64_t cur = uplink, next;
	int rc;

	if (uplink == id)
		return req_invalid(r, "uplink_id",
		                   "must not be the device itself");
	for (int depth = 0; cur; depth++) {
		if (depth >= UPLINK_DEPTH_MAX || (id && cur == id))
			return req_invalid(r, "uplink_id",
			                   "would make a loop in the network "
			                   "tree");
		rc = store_device_uplink_of(r->tdb, cur, &next);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (cur == uplink)
				return req_invalid(
				    r, "uplink_id",
				    "must be a device of this tenant");
			break;
		}
		cur = next;
	}
	return 0;
}

/*
 * Seals and stores the secrets present in the request for device id;
 * adds their names to changed.  The sealed bytes are wiped whatever
 * happens.  0 or -1.
 */
static int
store_secrets(struct req *r, int64_t id, cJSON *changed)
{
	static const char *const names[] = {"password", "snmp_community"};
	const struct fval *v[2] = {&r->vals[DEVICE_F_PASSWORD],
	                           &r->vals[DEVICE_F_SNMP]};
	unsigned char sealed[2][SECRET_MAX * 4 + CRYPTO_OVERHEAD];
	struct device_secrets s = {0};
	struct bytes *out[2] = {&s.password, &s.community};
	int rc = -1;

	if (!v[0]->present && !v[1]->present)
		return 0;
	s.set_password = v[0]->present;
	s.set_community = v[1]->present;
	for (int i = 0; i < 2; i++) {
		char aad[96];
		long n;

		if (!v[i]->present)
			continue;
		cJSON_AddItemToArray(changed, cJSON_CreateString(names[i]));
		if (v[i]->is_null)
			continue;
		snprintf(aad, sizeof(aad), "device:%" PRId64 ":%" PRId64 ":%s",
		         tdb_tenant(r->tdb), id, names[i]);
		n = crypto_seal(r->cfg, aad, v[i]->s, v[i]->len, sealed[i],
		                sizeof(sealed[i]));
		if (n < 0)
			goto out_wipe;
		out[i]->p = sealed[i];
		out[i]->n = (size_t)n;
	}
	rc = store_device_set_secrets(r->tdb, id, &s);
out_wipe:
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

/* The device as JSON with the names of the credentials a change set. */
static cJSON *
audit_view(struct req *r, const struct device *d, cJSON *changed)
{
	cJSON *v = json_own(r->a, row_json(&device_row, d));

	if (v && changed)
		cJSON_AddItemReferenceToObject(v, "credentials_changed",
		                               changed);
	return v;
}

/* Lays the request's fields over d (null clears a nullable value). */
static void
device_apply(struct device *d, const struct fval *v)
{
	if (v[DEVICE_F_NAME].present)
		d->name = v[DEVICE_F_NAME].s;
	if (v[DEVICE_F_TYPE].present)
		d->type = v[DEVICE_F_TYPE].s;
	if (v[DEVICE_F_IP].present)
		d->ip_address = v[DEVICE_F_IP].s;
	if (v[DEVICE_F_PORT].present)
		d->port = v[DEVICE_F_PORT].is_null ? 0 : v[DEVICE_F_PORT].i;
	if (v[DEVICE_F_LOCATION].present)
		d->location = fval_str(&v[DEVICE_F_LOCATION]);
	if (v[DEVICE_F_USERNAME].present)
		d->username = fval_str(&v[DEVICE_F_USERNAME]);
	if (v[DEVICE_F_UPLINK].present)
		d->uplink_id =
		    v[DEVICE_F_UPLINK].is_null ? 0 : v[DEVICE_F_UPLINK].i;
}

int
devices_list(struct req *r)
{
	return reply_list(r, &device_list_spec);
}

int
devices_get(struct req *r)
{
	struct device d;

	if (req_found(r, store_device_get(r->tdb, r->ids[0], &d), "device") < 0)
		return -1;
	return reply_row(r, 200, &device_row, &d);
}

int
devices_create(struct req *r)
{
	struct device d = {0}, after;
	cJSON *new, *changed;
	int64_t id;

	device_apply(&d, r->vals);
	if (tdb_begin(r->tdb) < 0 ||
	    (d.uplink_id && uplink_ok(r, 0, d.uplink_id) < 0) ||
	    store_device_insert(r->tdb, &d, &id) < 0)
		return -1;
	changed = json_own(r->a, cJSON_CreateArray());
	if (!changed || store_secrets(r, id, changed) < 0 ||
	    store_device_get(r->tdb, id, &after) != 1 ||
	    !(new = audit_view(r, &after, changed)) ||
	    req_audit(r, "create", "device", id, NULL, new) < 0)
		return -1;
	return reply_commit(r, 201, &device_row, &after);
}

int
devices_update(struct req *r)
{
	int64_t id = r->ids[0];
	struct device before, d, after;
	cJSON *old, *new, *changed;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_device_lock(r->tdb, id, &before), "device") < 0)
		return -1;
	d = before;
	device_apply(&d, r->vals);
	if (r->vals[DEVICE_F_UPLINK].present && d.uplink_id &&
	    uplink_ok(r, id, d.uplink_id) < 0)
		return -1;
	changed = json_own(r->a, cJSON_CreateArray());
	if (!changed || store_device_update(r->tdb, &d) < 0 ||
	    store_secrets(r, id, changed) < 0 ||
	    store_device_get(r->tdb, id, &after) != 1 ||
	    !(old = audit_view(r, &before, NULL)) ||
	    !(new = audit_view(r, &after, changed)) ||
	    req_audit(r, "update", "device", id, old, new) < 0)
		return -1;
	return reply_commit(r, 200, &device_row, &after);
}

int
devices_delete(struct req *r)
{
	int64_t id = r->ids[0], users;
	struct device before;
	char subject[24];

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_device_lock(r->tdb, id, &before), "device") <
	        0 ||
	    store_device_dependants(r->tdb, id, &users) < 0)
		return -1;
	if (users > 0)
		return req_fail(r, 409, "in_use",
		                arena_printf(r->a,
		                             "%" PRId64 " other device(s) use "
		                             "this device as their uplink; "
		                             "move them first",
		                             users));
	snprintf(subject, sizeof(subject), "%" PRId64, id);
	if (store_device_delete(r->tdb, id) < 0 ||
	    alert_resolve(r->tdb, "device_offline", "device", subject) < 0 ||
	    req_record(r, "delete", "device", id, &device_row, &before, NULL,
	               NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}

int
devices_check(struct req *r)
{
	struct probe_target t;
	struct device d, after;
	enum device_state st;
	cJSON *probe, *out;
	int rc;

	if (req_found(r, store_device_get(r->tdb, r->ids[0], &d), "device") < 0)
		return -1;
	/* The probe runs outside any transaction: it may take seconds. */
	memset(&t, 0, sizeof(t));
	t.host = d.ip_address;
	t.port = (int)d.port;
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
	rc = devcheck_record(r->tdb, r->ids[0], st, r->who.user_id,
	                     r->remote_addr, r->user_agent, probe, &after);
	if (req_found(r, rc, "device") < 0)
		return -1;
	out = row_json(&device_row, &after);
	if (out)
		cJSON_AddItemToObject(out, "check", cJSON_Duplicate(probe, 1));
	return req_data(r, 200, out);
}
