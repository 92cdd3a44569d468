/*
 * Network devices.  The sealed secrets (password_enc, snmp_community_enc)
 * are written here and never selected: no statement of this file reads
 * them back, so no response, log line or audit entry can carry them.
 */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "audit.h"
#include "events.h"
#include "notify.h"

#define DEVICE_COLS                                                            \
	"id, name, type, ip_address, port, location, username, uplink_id, "    \
	"status, last_seen, last_checked_at, created_at, updated_at"
#define DEVICE_FILTER                                                          \
	" WHERE tenant_id = ? AND deleted_at IS NULL"                          \
	" AND (? IS NULL OR type = ?) AND (? IS NULL OR status = ?)"           \
	" AND (? IS NULL OR location = ?)"

/* The sorts of fcgi/devices.c, in the same order. */
static const char *const device_orders[] = {
    "name ASC, id ASC",
    "name DESC, id DESC",
    "created_at ASC, id ASC",
    "created_at DESC, id DESC",
    "status ASC, name ASC",
    "last_seen DESC, id DESC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_device_stmts[] = {
	[DEVICE_GET] = STMT("device_get", SCOPE_TENANT, "ti",
	     "SELECT " DEVICE_COLS " FROM devices"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[DEVICE_GET_LOCKED] = STMT("device_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " DEVICE_COLS " FROM devices"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"
	     " FOR UPDATE"),
	[DEVICE_LIST] = STMT_ORDERED("device_list", SCOPE_TENANT, "tssssssii",
	     "SELECT " DEVICE_COLS " FROM devices" DEVICE_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", device_orders),
	[DEVICE_COUNT] = STMT("device_count", SCOPE_TENANT, "tssssss",
	     "SELECT COUNT(*) FROM devices" DEVICE_FILTER),
	[DEVICE_INSERT] = STMT("device_insert", SCOPE_TENANT, "tsssissi",
	     "INSERT INTO devices (tenant_id, name, type, ip_address, port,"
	     " location, username, uplink_id)"
	     " VALUES (?, ?, ?, ?, NULLIF(?, 0), ?, ?, NULLIF(?, 0))"),
	/* NULL leaves a column; nullable columns take a flag first. */
	[DEVICE_UPDATE] = STMT("device_update", SCOPE_TENANT, "sssiiisisiiti",
	     "UPDATE devices SET name = COALESCE(?, name),"
	     " type = COALESCE(?, type), ip_address = COALESCE(?, ip_address),"
	     " port = IF(?, NULLIF(?, 0), port),"
	     " location = IF(?, ?, location), username = IF(?, ?, username),"
	     " uplink_id = IF(?, NULLIF(?, 0), uplink_id)"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	/* Flag, value: a set flag with a NULL value clears the secret. */
	[DEVICE_SET_SECRETS] = STMT("device_set_secrets", SCOPE_TENANT,
	     "ibibti",
	     "UPDATE devices SET password_enc = IF(?, ?, password_enc),"
	     " snmp_community_enc = IF(?, ?, snmp_community_enc)"
	     " WHERE tenant_id = ? AND id = ?"),
	[DEVICE_SET_STATUS] = STMT("device_set_status", SCOPE_TENANT, "siti",
	     "UPDATE devices SET status = ?,"
	     " last_seen = IF(?, UTC_TIMESTAMP(), last_seen),"
	     " last_checked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	/* Soft delete; the secrets go at once, the row stays as history. */
	[DEVICE_DELETE] = STMT("device_delete", SCOPE_TENANT, "ti",
	     "UPDATE devices SET deleted_at = UTC_TIMESTAMP(),"
	     " password_enc = NULL, snmp_community_enc = NULL"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	/* What depends on a device: live devices that name it as uplink. */
	[DEVICE_IN_USE] = STMT("device_in_use", SCOPE_TENANT, "ti",
	     "SELECT COUNT(*) FROM devices WHERE tenant_id = ?"
	     " AND uplink_id = ? AND deleted_at IS NULL"),
	[DEVICE_UPLINK_OF] = STMT("device_uplink_of", SCOPE_TENANT, "ti",
	     "SELECT uplink_id FROM devices"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	/* rtrw-monitor devices --tenant: the same page as DEVICE_ALL_LIVE. */
	[DEVICE_LIVE] = STMT("device_live", SCOPE_TENANT, "tii",
	     "SELECT id, tenant_id, ip_address, port FROM devices"
	     " WHERE tenant_id = ? AND deleted_at IS NULL AND id > ?"
	     " ORDER BY id LIMIT ?"),
	[DEVICE__MAX] = STMT_END
};

/*
 * rtrw-monitor devices pages through every live device of every active
 * tenant by id (keyset paging: no OFFSET drift when rows change).
 */
const struct stmt_def store_device_global_stmts[] = {
	[DEVICE_ALL_LIVE] = STMT("device_all_live", SCOPE_GLOBAL, "ii",
	     "SELECT d.id, d.tenant_id, d.ip_address, d.port FROM devices d"
	     " JOIN tenants tn ON tn.id = d.tenant_id"
	     " WHERE d.deleted_at IS NULL AND tn.status = 'active'"
	     " AND d.id > ? ORDER BY d.id LIMIT ?"),
	[DEVICE_GLOBAL__MAX] = STMT_END
};
/* clang-format on */

static const char *
state_name(enum device_state st)
{
	switch (st) {
	case DEVICE_ONLINE:
		return "online";
	case DEVICE_OFFLINE:
		return "offline";
	default:
		return "unknown";
	}
}

/* The check-related columns of a device row, for audit and events. */
static cJSON *
check_view(const struct dbres *row)
{
	static const char *const cols[] = {"status", "last_seen",
	                                   "last_checked_at", NULL};
	cJSON *full = dbres_row_json(row, 0, NULL), *v = cJSON_CreateObject();

	if (!full || !v)
		goto out;
	for (const char *const *c = cols; *c; c++) {
		cJSON *item = cJSON_DetachItemFromObject(full, *c);

		if (item)
			cJSON_AddItemToObject(v, *c, item);
	}
out:
	cJSON_Delete(full);
	return v;
}

/* Alert, event and notification of a status change; 0 or -1. */
static int
status_changed(struct tdb *t, int64_t id, const struct dbres *row,
               const char *old_status, enum device_state st)
{
	const char *name = dbres_get(row, 0, (size_t)dbres_col(row, "name"));
	const char *ip =
	    dbres_get(row, 0, (size_t)dbres_col(row, "ip_address"));
	const char *loc = dbres_get(row, 0, (size_t)dbres_col(row, "location"));
	const char *seen =
	    dbres_get(row, 0, (size_t)dbres_col(row, "last_seen"));
	char subject[24], seen_rfc[40] = "", msg[300];
	cJSON *ev = cJSON_CreateObject();
	int rc = -1;

	snprintf(subject, sizeof(subject), "%" PRId64, id);
	if (seen)
		db_datetime_rfc3339(seen, seen_rfc, sizeof(seen_rfc));
	if (!ev)
		return -1;
	cJSON_AddNumberToObject(ev, "device_id", (double)id);
	cJSON_AddStringToObject(ev, "name", name);
	cJSON_AddStringToObject(ev, "ip_address", ip);
	if (loc)
		cJSON_AddStringToObject(ev, "location", loc);
	cJSON_AddStringToObject(ev, "previous_status", old_status);
	cJSON_AddStringToObject(ev, "status", state_name(st));
	if (seen)
		cJSON_AddStringToObject(ev, "last_seen", seen_rfc);
	else
		cJSON_AddNullToObject(ev, "last_seen");
	if (event_emit(t, "device:status", "device", id, ev) < 0)
		goto out;
	if (st == DEVICE_OFFLINE) {
		snprintf(msg, sizeof(msg), "device \"%s\" (%s) is offline",
		         name, ip);
		/*
		 * Notify only when this opens a new alert: a device that
		 * flaps while its alert is still open mails nobody twice.
		 */
		switch (alert_raise(t, "device_offline", "device", subject, msg,
		                    ev)) {
		case 1:
			if (notify_admins(t, "device_offline", ev, NULL) < 0)
				goto out;
			break;
		case 0:
			break;
		default:
			goto out;
		}
	} else if (st == DEVICE_ONLINE) {
		if (alert_resolve(t, "device_offline", "device", subject) < 0)
			goto out;
	}
	rc = 0;
out:
	cJSON_Delete(ev);
	return rc;
}

int
store_device_record_check(struct tdb *t, int64_t id, enum device_state st,
                          int64_t user_id, const char *ip,
                          const char *user_agent, const cJSON *probe,
                          struct dbres *after)
{
	const struct stmt_def *D = store_device_stmts;
	struct dbres before, row;
	struct audit_entry e;
	const char *old_status;
	cJSON *old = NULL, *new = NULL;
	int changed;

	if (!after)
		after = &row;
	if (tdb_begin(t) < 0)
		return -1;
	if (tdb_query(t, &D[DEVICE_GET_LOCKED], DB_ARGS(DBI(id)), &before) < 0)
		goto out_rollback;
	if (before.nrows != 1) {
		tdb_rollback(t);
		return 0;
	}
	old_status =
	    dbres_get(&before, 0, (size_t)dbres_col(&before, "status"));
	changed = strcmp(old_status, state_name(st)) != 0;
	if (tdb_query(
	        t, &D[DEVICE_SET_STATUS],
	        DB_ARGS(DBS(state_name(st)), DBI(st == DEVICE_ONLINE), DBI(id)),
	        NULL) < 0 ||
	    tdb_query(t, &D[DEVICE_GET], DB_ARGS(DBI(id)), after) < 0 ||
	    after->nrows != 1)
		goto out_rollback;
	if (changed && status_changed(t, id, after, old_status, st) < 0)
		goto out_rollback;
	if (user_id || changed) {
		old = check_view(&before);
		new = check_view(after);
		if (!old || !new)
			goto out_rollback;
		if (probe)
			cJSON_AddItemToObject(new, "probe",
			                      cJSON_Duplicate(probe, 1));
		memset(&e, 0, sizeof(e));
		e.user_id = user_id;
		e.action = user_id ? "check" : "status";
		e.entity_type = "device";
		e.entity_id = id;
		e.old_values = old;
		e.new_values = new;
		e.ip = ip;
		e.user_agent = user_agent;
		if (audit_write(t, &e) < 0)
			goto out_rollback;
	}
	if (tdb_commit(t) < 0)
		goto out_rollback;
	cJSON_Delete(old);
	cJSON_Delete(new);
	return 1;
out_rollback:
	cJSON_Delete(old);
	cJSON_Delete(new);
	tdb_rollback(t);
	return -1;
}
