/*
 * Platform alerts (lib/store/platform_alert.h), for platform
 * administrators: what goes wrong with the platform itself rather than
 * inside a tenant.  Today one type, backup_failed, raised by rtrw-backup
 * for a failed backup or verification and resolved by the next backup
 * that completes.  Tenants' alerts (GET /alerts) are the tenant's own;
 * a backup belongs to no tenant, so its alert lives here.
 *
 * Acknowledging works as for tenant alerts: an acknowledged alert
 * answers 200 unchanged, a resolved one 422 invalid_transition.  An
 * acknowledged alert stays until it is resolved, but a new failure
 * opens a new alert (and mails again) rather than counting on the one
 * someone has already seen.  Acknowledgements are written to
 * platform_audit_logs.
 */
#include "routes.h"

#include <string.h>

#include "reply.h"
#include "store/platform_alert.h"
#include "tdb.h"

/* clang-format off */
static const struct filter_def platform_alert_filters[] = {
	FILTER_ENUM_(struct platform_alert_filter, type, platform_alert_types,
	             "only alerts of this type"),
	FILTER_ENUM_(struct platform_alert_filter, status,
	             platform_alert_statuses, "only alerts with this status"),
	FILTER_END
};
/* clang-format on */

const struct list_spec platform_alert_list_spec = {
    .store = &store_platform_alert_list,
    .filters = platform_alert_filters,
};

int
platform_alerts_list(struct req *r)
{
	return reply_list(r, &platform_alert_list_spec);
}

int
platform_alerts_get(struct req *r)
{
	struct platform_alert a;

	if (req_found(r, store_platform_alert_get(r->db, r->a, r->ids[0], &a),
	              "alert") < 0)
		return -1;
	return reply_row(r, 200, &platform_alert_row, &a);
}

int
platform_alerts_acknowledge(struct req *r)
{
	int64_t id = r->ids[0];
	struct platform_alert before, after;

	if (db_begin(r->db) < 0 ||
	    req_found(r, store_platform_alert_lock(r->db, r->a, id, &before),
	              "alert") < 0)
		return -1;
	if (strcmp(before.status, "resolved") == 0)
		return req_fail(r, 422, "invalid_transition",
		                "a resolved alert cannot be acknowledged");
	if (strcmp(before.status, "acknowledged") == 0)
		return reply_row(r, 200, &platform_alert_row, &before);
	if (store_platform_alert_acknowledge(r->db, r->a, id, r->who.user_id) <
	        0 ||
	    store_platform_alert_get(r->db, r->a, id, &after) != 1 ||
	    req_platform_record(r, "acknowledge", "platform_alert", id,
	                        &platform_alert_row, &before, &after) < 0 ||
	    db_commit(r->db) < 0)
		return -1;
	return reply_row(r, 200, &platform_alert_row, &after);
}
