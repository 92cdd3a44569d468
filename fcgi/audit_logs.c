/*
 * Reading the audit log (admins).  There is no way to change or delete
 * an entry: those methods answer 405, and the database refuses them too.
 */
#include "routes.h"

#include "reply.h"
#include "store/audit.h"

/* clang-format off */
static const struct filter_def audit_filters[] = {
	FILTER_ID_(struct audit_filter, user_id, "only this user's actions"),
	FILTER_ID_(struct audit_filter, entity_id,
	           "only entries about this entity id"),
	FILTER_TEXT_(struct audit_filter, action, 40,
	             "only this action (create, update, login...)"),
	FILTER_TEXT_(struct audit_filter, entity_type, 40,
	             "only this entity type (customer, user...)"),
	FILTER_DATE_(struct audit_filter, from, "first day (inclusive)"),
	FILTER_DATE_(struct audit_filter, to, "last day (inclusive)"),
	FILTER_END
};
/* clang-format on */

const struct list_spec audit_log_list_spec = {
    .store = &store_audit_list,
    .filters = audit_filters,
};

int
audit_logs_list(struct req *r)
{
	return reply_list(r, &audit_log_list_spec);
}

int
audit_logs_get(struct req *r)
{
	struct audit_log e;

	if (req_found(r, store_audit_get(r->tdb, r->ids[0], &e),
	              "audit entry") < 0)
		return -1;
	return reply_row(r, 200, &audit_log_row, &e);
}
