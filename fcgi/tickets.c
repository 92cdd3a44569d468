/*
 * Support tickets and their comments.
 *
 * Numbers are T-YYYYMM-NNNN, unique per tenant: YYYYMM is the month of
 * creation in the tenant's time zone and NNNN restarts at 0001 every
 * month (a per-tenant counter named "ticket:YYYYMM", taken with
 * counter_next() inside the creating transaction, so concurrent creates
 * queue on the counter row and never share a number).  Past 9999 tickets
 * in a month the number simply grows a digit.
 *
 * Status moves forward one step at a time: open -> in_progress ->
 * resolved -> closed; anything else, staying put included, is 422
 * invalid_transition.  resolved_at and closed_at record when the ticket
 * got there.  assigned_to must be an active user of the tenant; creating
 * a ticket with an assignee, or assigning it to someone new, queues the
 * ticket_created email to that user.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "audit.h"
#include "billing.h"
#include "counter.h"
#include "db.h"
#include "events.h"
#include "fields.h"
#include "json.h"
#include "notify.h"
#include "store/store.h"

static const char *const ticket_priorities[] = {"low", "medium", "high",
                                                "urgent", NULL};
static const char *const ticket_statuses[] = {"open", "in_progress", "resolved",
                                              "closed", NULL};

/* clang-format off */
const struct field ticket_create_fields[] = {
	{ "customer_id", FT_ID,     0, 0,     F_REQUIRED, NULL },
	{ "title",       FT_STRING, 1, 200,   F_REQUIRED | F_TEXT, NULL },
	{ "description", FT_STRING, 1, 10000, F_REQUIRED | F_TEXT, NULL },
	{ "priority",    FT_ENUM,   0, 0,     0, ticket_priorities },
	{ "assigned_to", FT_ID,     0, 0,     F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { C_CUSTOMER, C_TITLE, C_DESCRIPTION, C_PRIORITY, C_ASSIGNED };

const struct field ticket_update_fields[] = {
	{ "title",       FT_STRING, 1, 200,   F_TEXT, NULL },
	{ "description", FT_STRING, 1, 10000, F_TEXT, NULL },
	{ "priority",    FT_ENUM,   0, 0,     0, ticket_priorities },
	{ "status",      FT_ENUM,   0, 0,     0, ticket_statuses },
	{ "assigned_to", FT_ID,     0, 0,     F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { P_TITLE, P_DESCRIPTION, P_PRIORITY, P_STATUS, P_ASSIGNED };

const struct field ticket_comment_fields[] = {
	{ "body", FT_STRING, 1, 10000, F_REQUIRED | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

/* The orders of lib/store/ticket.c, in the same order. */
static const char *const ticket_sorts[] = {
    "-created_at", "created_at",    "-priority", "priority",
    "-updated_at", "ticket_number", NULL,
};

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "ticket not found");
}

/* The status that may follow cur, or NULL after "closed". */
static const char *
next_status(const char *cur)
{
	for (size_t i = 0; ticket_statuses[i]; i++)
		if (strcmp(ticket_statuses[i], cur) == 0)
			return ticket_statuses[i + 1];
	return NULL;
}

/* Whether uid is an active user of the tenant: 1, 0, or -1. */
static int
assignee_ok(struct req *r, int64_t uid)
{
	struct dbres res;

	if (tdb_query(r->tdb, &store_ticket_stmts[TICKET_ASSIGNEE_OK],
	              DB_ARGS(DBI(uid)), &res) < 0)
		return -1;
	return res.nrows == 1;
}

/* Queues the ticket_created email to the assignee of ticket row. */
static int
notify_assignee(struct req *r, const struct dbres *row, int64_t uid)
{
	cJSON *p = json_own(r->a, cJSON_CreateObject());
	char key[64];
	int64_t id = dbres_int(row, 0, 0);

	if (!p)
		return -1;
	json_add_int(p, "ticket_id", id);
	cJSON_AddStringToObject(p, "ticket_number", dbres_get(row, 0, 1));
	cJSON_AddStringToObject(p, "title", dbres_get(row, 0, 3));
	cJSON_AddStringToObject(p, "priority", dbres_get(row, 0, 5));
	json_add_int(p, "customer_id", dbres_int(row, 0, 2));
	snprintf(key, sizeof(key), "ticket_created:%" PRId64 ":%" PRId64, id,
	         uid);
	return notify_queue(r->tdb, "ticket_created", uid, NULL, p, key) < 0
	           ? -1
	           : 0;
}

/* The ticket's number for this month: "T-YYYYMM-NNNN"; 0 or -1. */
static int
next_number(struct req *r, char *out, size_t n)
{
	const char *tz = NULL;
	char today[BILLING_DATE_LEN], name[32];
	int64_t seq;
	int col;

	if (r->who_row && (col = dbres_col(r->who_row, "tenant_timezone")) >= 0)
		tz = dbres_get(r->who_row, 0, (size_t)col);
	if (billing_today(tz ? tz : "Asia/Jakarta", time(NULL), today) < 0)
		return -1;
	/* today is YYYY-MM-DD; the counter and the number use YYYYMM. */
	snprintf(name, sizeof(name), "ticket:%.4s%.2s", today, today + 5);
	if (counter_next(r->tdb, name, &seq) < 0)
		return -1;
	snprintf(out, n, "T-%.4s%.2s-%04" PRId64, today, today + 5, seq);
	return 0;
}

int
tickets_list(struct req *r)
{
	const struct stmt_def *T = store_ticket_stmts;
	const char *status, *priority;
	int64_t page, per_page, customer, assigned;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, ticket_sorts, &sort) < 0 ||
	    req_param_id(r, "customer_id", &customer) < 0 ||
	    req_param_id(r, "assigned_to", &assigned) < 0 ||
	    req_param_enum(r, "status", ticket_statuses, &status) < 0 ||
	    req_param_enum(r, "priority", ticket_priorities, &priority) < 0)
		return -1;
#define FILTER_ARGS                                                            \
	customer ? DBI(customer) : DBNULL('i'),                                \
	    customer ? DBI(customer) : DBNULL('i'), DBS(status), DBS(status),  \
	    DBS(priority), DBS(priority),                                      \
	    assigned ? DBI(assigned) : DBNULL('i'),                            \
	    assigned ? DBI(assigned) : DBNULL('i')
	if (tdb_query_order(
	        r->tdb, &T[TICKET_LIST], sort,
	        DB_ARGS(FILTER_ARGS, DBI(per_page), DBI((page - 1) * per_page)),
	        &rows) < 0 ||
	    tdb_query(r->tdb, &T[TICKET_COUNT], DB_ARGS(FILTER_ARGS), &count) <
	        0)
		return -1;
#undef FILTER_ARGS
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
tickets_get(struct req *r)
{
	return req_get_one(r, &store_ticket_stmts[TICKET_GET], NULL,
	                   "ticket not found");
}

int
tickets_create(struct req *r)
{
	const struct stmt_def *T = store_ticket_stmts;
	const struct fval *v = r->vals;
	int64_t assignee = v[C_ASSIGNED].present && !v[C_ASSIGNED].is_null
	                       ? v[C_ASSIGNED].i
	                       : 0;
	struct dbres cust, res, row;
	char number[32];
	cJSON *new;
	int ok;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &T[TICKET_CUSTOMER_OK],
	              DB_ARGS(DBI(v[C_CUSTOMER].i)), &cust) < 0)
		goto out_fail;
	if (cust.nrows != 1)
		req_detail(r, "customer_id",
		           "must be a customer of this tenant");
	if (assignee && (ok = assignee_ok(r, assignee)) <= 0) {
		if (ok < 0)
			goto out_fail;
		req_detail(r, "assigned_to",
		           "must be an active user of this tenant");
	}
	if (r->err_details) {
		tdb_rollback(r->tdb);
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	}
	if (next_number(r, number, sizeof(number)) < 0 ||
	    tdb_query(
	        r->tdb, &T[TICKET_INSERT],
	        DB_ARGS(DBS(number), DBI(v[C_CUSTOMER].i), DBS(v[C_TITLE].s),
	                DBS(v[C_DESCRIPTION].s),
	                DBS(v[C_PRIORITY].present ? v[C_PRIORITY].s : "medium"),
	                DBI(assignee), DBI(r->who.user_id)),
	        &res) < 0 ||
	    tdb_query(r->tdb, &T[TICKET_GET],
	              DB_ARGS(DBI((int64_t)res.insert_id)), &row) < 0 ||
	    row.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&row, 0, NULL));
	if (!new ||
	    audit_req(r, "create", "ticket", (int64_t)res.insert_id, NULL,
	              new) < 0 ||
	    event_emit(r->tdb, "ticket:created", "ticket",
	               (int64_t)res.insert_id, new) < 0 ||
	    (assignee && notify_assignee(r, &row, assignee) < 0) ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&row, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
tickets_update(struct req *r)
{
	const struct stmt_def *T = store_ticket_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0], assignee = 0, was;
	const char *status = v[P_STATUS].present ? v[P_STATUS].s : NULL;
	int set_assignee = v[P_ASSIGNED].present, ok;
	struct dbres before, after;
	cJSON *old, *new;

	if (set_assignee && !v[P_ASSIGNED].is_null)
		assignee = v[P_ASSIGNED].i;
	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &T[TICKET_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	/* Columns: id, ticket_number, customer_id, title, description,
	 * priority, status, assigned_to, ... */
	if (status) {
		const char *cur = dbres_get(&before, 0, 6);
		const char *next = next_status(cur);

		if (!next || strcmp(next, status) != 0) {
			tdb_rollback(r->tdb);
			req_fail(r, 422, "invalid_transition",
			         arena_printf(r->a,
			                      "a ticket that is %s can only "
			                      "move to %s",
			                      cur, next ? next : "nothing"));
			req_detail(r, "status",
			           next ? arena_printf(r->a, "must be %s", next)
			                : "a closed ticket does not change "
			                  "status");
			return -1;
		}
	}
	if (assignee && (ok = assignee_ok(r, assignee)) <= 0) {
		if (ok < 0)
			goto out_fail;
		tdb_rollback(r->tdb);
		return req_invalid(r, "assigned_to",
		                   "must be an active user of this tenant");
	}
	was = dbres_int(&before, 0, 7);
	if (tdb_query(
	        r->tdb, &T[TICKET_UPDATE],
	        DB_ARGS(
	            DBS(v[P_TITLE].present ? v[P_TITLE].s : NULL),
	            DBS(v[P_DESCRIPTION].present ? v[P_DESCRIPTION].s : NULL),
	            DBS(v[P_PRIORITY].present ? v[P_PRIORITY].s : NULL),
	            DBI(set_assignee), assignee ? DBI(assignee) : DBNULL('i'),
	            DBS(status), DBS(status), DBS(status), DBI(id)),
	        NULL) < 0 ||
	    tdb_query(r->tdb, &T[TICKET_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (!old || !new ||
	    audit_req(r, "update", "ticket", id, old, new) < 0 ||
	    event_emit(r->tdb, "ticket:updated", "ticket", id, new) < 0 ||
	    (assignee && assignee != was &&
	     notify_assignee(r, &after, assignee) < 0) ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
tickets_comments_list(struct req *r)
{
	const struct stmt_def *S = store_ticket_stmts;

	return req_child_list(r, &S[TICKET_GET], &S[TICKET_COMMENT_LIST],
	                      &S[TICKET_COMMENT_COUNT], "ticket not found");
}

int
tickets_comments_create(struct req *r)
{
	const struct stmt_def *T = store_ticket_stmts;
	int64_t id = r->ids[0], cid;
	struct dbres ticket, res, row;
	cJSON *new, *ev;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Locking the ticket orders comments with status changes. */
	if (tdb_query(r->tdb, &T[TICKET_GET_LOCKED], DB_ARGS(DBI(id)),
	              &ticket) < 0)
		goto out_fail;
	if (ticket.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	if (tdb_query(r->tdb, &T[TICKET_COMMENT_INSERT],
	              DB_ARGS(DBI(id), DBI(r->who.user_id), DBS(r->vals[0].s)),
	              &res) < 0)
		goto out_fail;
	cid = (int64_t)res.insert_id;
	if (tdb_query(r->tdb, &T[TICKET_COMMENT_GET], DB_ARGS(DBI(cid)), &row) <
	        0 ||
	    row.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&row, 0, NULL));
	ev = json_own(r->a, cJSON_CreateObject());
	if (!new || !ev)
		goto out_fail;
	json_add_int(ev, "id", id);
	cJSON_AddStringToObject(ev, "ticket_number", dbres_get(&ticket, 0, 1));
	json_add_int(ev, "comment_id", cid);
	if (audit_req(r, "create", "ticket_comment", cid, NULL, new) < 0 ||
	    event_emit(r->tdb, "ticket:updated", "ticket", id, ev) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&row, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}
