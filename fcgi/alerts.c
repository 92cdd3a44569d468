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
#include "audit.h"
#include "db.h"
#include "json.h"
#include "store/store.h"

static const char *const alert_json_cols[] = {"details", NULL};

/* The orders of lib/store/alert.c, in the same order. */
static const char *const alert_sorts[] = {"-created_at", "created_at",
                                          "-updated_at", NULL};

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "alert not found");
}

int
alerts_list(struct req *r)
{
	const struct stmt_def *A = store_alert_ops_stmts;
	const char *type, *status;
	int64_t page, per_page;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, alert_sorts, &sort) < 0 ||
	    req_param_enum(r, "type", alert_types, &type) < 0 ||
	    req_param_enum(r, "status", alert_statuses, &status) < 0)
		return -1;
	if (tdb_query_order(r->tdb, &A[ALERT_OP_LIST], sort,
	                    DB_ARGS(DBS(type), DBS(type), DBS(status),
	                            DBS(status), DBI(per_page),
	                            DBI((page - 1) * per_page)),
	                    &rows) < 0 ||
	    tdb_query(r->tdb, &A[ALERT_OP_COUNT],
	              DB_ARGS(DBS(type), DBS(type), DBS(status), DBS(status)),
	              &count) < 0)
		return -1;
	return req_list_rows(r, &rows, alert_json_cols, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
alerts_get(struct req *r)
{
	return req_get_one(r, &store_alert_ops_stmts[ALERT_OP_GET],
	                   alert_json_cols, "alert not found");
}

int
alerts_acknowledge(struct req *r)
{
	const struct stmt_def *A = store_alert_ops_stmts;
	int64_t id = r->ids[0];
	struct dbres before, after;
	const char *status;
	cJSON *old, *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &A[ALERT_OP_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	/* Columns: id, type, status, ... */
	status = dbres_get(&before, 0, 2);
	if (strcmp(status, "resolved") == 0) {
		tdb_rollback(r->tdb);
		return req_fail(r, 422, "invalid_transition",
		                "a resolved alert cannot be acknowledged");
	}
	if (strcmp(status, "acknowledged") == 0) {
		tdb_rollback(r->tdb);
		return req_data(r, 200,
		                dbres_row_json(&before, 0, alert_json_cols));
	}
	if (alert_acknowledge(r->tdb, id, r->who.user_id) < 0 ||
	    tdb_query(r->tdb, &A[ALERT_OP_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, alert_json_cols));
	new = json_own(r->a, dbres_row_json(&after, 0, alert_json_cols));
	if (!old || !new ||
	    audit_req(r, "acknowledge", "alert", id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, alert_json_cols));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}
