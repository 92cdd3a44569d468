#include "alerts.h"

#include <stdlib.h>

#include "db.h"
#include "events.h"
#include "store/store.h"

const char *const alert_types[] = {
    "high_usage", "device_offline",      "router_offline",
    "low_stock",  "provisioning_failed", "backup_failed",
    "ip_blocked", "account_locked",      "email_failed",
    NULL,
};

const char *const alert_statuses[] = {"open", "acknowledged", "resolved", NULL};

int
alert_raise(struct tdb *t, const char *type, const char *subject_type,
            const char *subject_id, const char *message, const cJSON *details)
{
	char *text = details ? cJSON_PrintUnformatted(details) : NULL;
	struct dbres res;
	cJSON *ev;
	int rc;

	rc = tdb_query(t, &store_alert_stmts[ALERT_RAISE],
	               DB_ARGS(DBS(type), DBS(subject_type), DBS(subject_id),
	                       DBS(message), DBS(text)),
	               &res);
	free(text);
	if (rc < 0)
		return -1;
	/* 1 for an insert; 2 when the open alert's counter went up. */
	if (res.affected != 1)
		return 0;
	ev = cJSON_CreateObject();
	if (!ev)
		return -1;
	cJSON_AddNumberToObject(ev, "id", (double)res.insert_id);
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddStringToObject(ev, "subject_type", subject_type);
	cJSON_AddStringToObject(ev, "subject_id", subject_id);
	cJSON_AddStringToObject(ev, "message", message);
	rc =
	    event_emit(t, "alert:created", "alert", (int64_t)res.insert_id, ev);
	cJSON_Delete(ev);
	return rc < 0 ? -1 : 1;
}

int
alert_resolve(struct tdb *t, const char *type, const char *subject_type,
              const char *subject_id)
{
	struct dbres res;

	if (tdb_query(t, &store_alert_ops_stmts[ALERT_OP_RESOLVE_SUBJECT],
	              DB_ARGS(DBS(type), DBS(subject_type), DBS(subject_id)),
	              &res) < 0)
		return -1;
	return res.affected > 0 ? 1 : 0;
}

int
alert_acknowledge(struct tdb *t, int64_t id, int64_t user_id)
{
	struct dbres res;

	if (tdb_query(t, &store_alert_ops_stmts[ALERT_OP_ACK],
	              DB_ARGS(DBI(user_id), DBI(id)), &res) < 0)
		return -1;
	return res.affected > 0 ? 1 : 0;
}
