#include "alerts.h"

#include <stdlib.h>

#include "events.h"
#include "json.h"
#include "store/alert.h"

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
	int64_t id = 0;
	cJSON *ev;
	int rc;

	if (details && !text)
		return -1;
	rc = store_alert_raise(t, type, subject_type, subject_id, message, text,
	                       &id);
	free(text);
	if (rc <= 0)
		return rc;
	ev = cJSON_CreateObject();
	if (!ev)
		return -1;
	json_add_int(ev, "id", id);
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddStringToObject(ev, "subject_type", subject_type);
	cJSON_AddStringToObject(ev, "subject_id", subject_id);
	cJSON_AddStringToObject(ev, "message", message);
	rc = event_emit(t, "alert:created", "alert", id, ev);
	cJSON_Delete(ev);
	return rc < 0 ? -1 : 1;
}

int
alert_resolve(struct tdb *t, const char *type, const char *subject_type,
              const char *subject_id)
{
	return store_alert_resolve(t, type, subject_type, subject_id);
}

int
alert_acknowledge(struct tdb *t, int64_t id, int64_t user_id)
{
	return store_alert_acknowledge(t, id, user_id);
}
