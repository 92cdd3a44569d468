/*
 * Alerts raised by other features (lib/alerts.h).  Anyone of the tenant
 * may read them; technicians and up acknowledge them, because the people
 * who fix a device or refill stock are the ones who act on an alert.
 * Acknowledging an acknowledged alert changes nothing and answers 200; a
 * resolved alert cannot be acknowledged (422 invalid_transition).
 * Resolving is left to the feature that raised the alert.
 */
#include "routes.h"

#include <string.h>

#include "alerts.h"
#include "reply.h"
#include "store/alert.h"

/* clang-format off */
static const struct filter_def alert_filters[] = {
	FILTER_ENUM_(struct alert_filter, type, alert_types,
	             "only alerts of this type"),
	FILTER_ENUM_(struct alert_filter, status, alert_statuses,
	             "only alerts with this status"),
	FILTER_END
};
/* clang-format on */

const struct list_spec alert_list_spec = {
    .store = &store_alert_list,
    .filters = alert_filters,
};

int
alerts_list(struct req *r)
{
	return reply_list(r, &alert_list_spec);
}

int
alerts_get(struct req *r)
{
	struct alert a;

	if (req_found(r, store_alert_get(r->tdb, r->ids[0], &a), "alert") < 0)
		return -1;
	return reply_row(r, 200, &alert_row, &a);
}

int
alerts_acknowledge(struct req *r)
{
	int64_t id = r->ids[0];
	struct alert before, after;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_alert_lock(r->tdb, id, &before), "alert") < 0)
		return -1;
	if (strcmp(before.status, "resolved") == 0)
		return req_fail(r, 422, "invalid_transition",
		                "a resolved alert cannot be acknowledged");
	if (strcmp(before.status, "acknowledged") == 0)
		return reply_row(r, 200, &alert_row, &before);
	if (alert_acknowledge(r->tdb, id, r->who.user_id) < 0 ||
	    store_alert_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "acknowledge", "alert", id, &alert_row, &before,
	               &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &alert_row, &after);
}
