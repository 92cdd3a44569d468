#include "devcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "audit.h"
#include "events.h"
#include "notify.h"
#include "row.h"
#include "store/device.h"

const char *
devcheck_state_name(enum device_state st)
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

/* The check-related columns of a device, for audit and events. */
static cJSON *
check_view(const struct device *d)
{
	cJSON *v = cJSON_CreateObject();
	char when[40];

	if (!v)
		return NULL;
	cJSON_AddStringToObject(v, "status", d->status);
	if (d->last_seen) {
		row_time_rfc3339(d->last_seen, when, sizeof(when));
		cJSON_AddStringToObject(v, "last_seen", when);
	} else {
		cJSON_AddNullToObject(v, "last_seen");
	}
	if (d->last_checked_at) {
		row_time_rfc3339(d->last_checked_at, when, sizeof(when));
		cJSON_AddStringToObject(v, "last_checked_at", when);
	} else {
		cJSON_AddNullToObject(v, "last_checked_at");
	}
	return v;
}

/* Alert, event and notification of a status change; 0 or -1. */
static int
status_changed(struct tdb *t, const struct device *d, const char *old_status,
               enum device_state st)
{
	char subject[24], seen[40] = "", msg[300];
	cJSON *ev = cJSON_CreateObject();
	int rc = -1;

	if (!ev)
		return -1;
	snprintf(subject, sizeof(subject), "%" PRId64, d->id);
	if (d->last_seen)
		row_time_rfc3339(d->last_seen, seen, sizeof(seen));
	cJSON_AddNumberToObject(ev, "device_id", (double)d->id);
	cJSON_AddStringToObject(ev, "name", d->name);
	cJSON_AddStringToObject(ev, "ip_address", d->ip_address);
	if (d->location)
		cJSON_AddStringToObject(ev, "location", d->location);
	cJSON_AddStringToObject(ev, "previous_status", old_status);
	cJSON_AddStringToObject(ev, "status", devcheck_state_name(st));
	if (d->last_seen)
		cJSON_AddStringToObject(ev, "last_seen", seen);
	else
		cJSON_AddNullToObject(ev, "last_seen");
	if (event_emit(t, "device:status", "device", d->id, ev) < 0)
		goto out;
	if (st == DEVICE_OFFLINE) {
		snprintf(msg, sizeof(msg), "device \"%s\" (%s) is offline",
		         d->name, d->ip_address);
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
devcheck_record(struct tdb *t, int64_t id, enum device_state st,
                int64_t user_id, const char *ip, const char *user_agent,
                const cJSON *probe, struct device *after)
{
	struct device before, row;
	struct audit_entry e;
	cJSON *old = NULL, *new = NULL;
	int changed, rc;

	if (!after)
		after = &row;
	if (tdb_begin(t) < 0)
		return -1;
	rc = store_device_lock(t, id, &before);
	if (rc <= 0) {
		tdb_rollback(t);
		return rc;
	}
	changed = strcmp(before.status, devcheck_state_name(st)) != 0;
	if (store_device_set_status(t, id, devcheck_state_name(st),
	                            st == DEVICE_ONLINE) < 0 ||
	    store_device_get(t, id, after) != 1)
		goto out_rollback;
	if (changed && status_changed(t, after, before.status, st) < 0)
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
