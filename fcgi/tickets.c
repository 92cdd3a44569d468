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
#include "billing.h"
#include "events.h"
#include "fields.h"
#include "json.h"
#include "notify.h"
#include "reply.h"
#include "store/shared.h"
#include "store/ticket.h"
#include "store/user.h"

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
enum {
	TICKET_F_CUSTOMER,
	TICKET_F_TITLE,
	TICKET_F_DESCRIPTION,
	TICKET_F_PRIORITY,
	TICKET_F_ASSIGNED,
};

const struct field ticket_update_fields[] = {
	{ "title",       FT_STRING, 1, 200,   F_TEXT, NULL },
	{ "description", FT_STRING, 1, 10000, F_TEXT, NULL },
	{ "priority",    FT_ENUM,   0, 0,     0, ticket_priorities },
	{ "status",      FT_ENUM,   0, 0,     0, ticket_statuses },
	{ "assigned_to", FT_ID,     0, 0,     F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	TICKET_U_TITLE,
	TICKET_U_DESCRIPTION,
	TICKET_U_PRIORITY,
	TICKET_U_STATUS,
	TICKET_U_ASSIGNED,
};

const struct field ticket_comment_fields[] = {
	{ "body", FT_STRING, 1, 10000, F_REQUIRED | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

/* clang-format off */
static const struct filter_def ticket_filters[] = {
	FILTER_ID_(struct ticket_filter, customer_id,
	           "only this customer's tickets"),
	FILTER_ID_(struct ticket_filter, assigned_to,
	           "only tickets assigned to this user"),
	FILTER_ENUM_(struct ticket_filter, status, ticket_statuses,
	             "only tickets with this status"),
	FILTER_ENUM_(struct ticket_filter, priority, ticket_priorities,
	             "only tickets with this priority"),
	FILTER_END
};
/* clang-format on */

const struct list_spec ticket_list_spec = {
    .store = &store_ticket_list,
    .filters = ticket_filters,
};

static int
ticket_exists(struct tdb *t, int64_t id)
{
	struct ticket tk;

	return store_ticket_get(t, id, &tk);
}

const struct list_spec ticket_comment_list_spec = {
    .store = &store_ticket_comment_list,
    .parent_get = ticket_exists,
    .parent_off = offsetof(struct ticket_comment_filter, ticket_id),
    .parent_what = "ticket",
};

/* The status that may follow cur, or NULL after "closed". */
static const char *
next_status(const char *cur)
{
	for (size_t i = 0; ticket_statuses[i]; i++)
		if (strcmp(ticket_statuses[i], cur) == 0)
			return ticket_statuses[i + 1];
	return NULL;
}

/* Queues the ticket_created email to the assignee of tk. */
static int
notify_assignee(struct req *r, const struct ticket *tk, int64_t uid)
{
	cJSON *p = json_own(r->a, cJSON_CreateObject());
	char key[64];

	if (!p)
		return -1;
	json_add_int(p, "ticket_id", tk->id);
	cJSON_AddStringToObject(p, "ticket_number", tk->ticket_number);
	cJSON_AddStringToObject(p, "title", tk->title);
	cJSON_AddStringToObject(p, "priority", tk->priority);
	json_add_int(p, "customer_id", tk->customer_id);
	snprintf(key, sizeof(key), "ticket_created:%" PRId64 ":%" PRId64,
	         tk->id, uid);
	return notify_queue(r->tdb, "ticket_created", uid, NULL, p, key) < 0
	           ? -1
	           : 0;
}

/* The ticket's number for this month: "T-YYYYMM-NNNN"; 0 or -1. */
static int
next_number(struct req *r, char *out, size_t n)
{
	const char *tz = r->who_row ? r->who_row->tenant_timezone : NULL;
	char today[BILLING_DATE_LEN], name[32];
	int64_t seq;

	if (billing_today(tz ? tz : "Asia/Jakarta", time(NULL), today) < 0)
		return -1;
	/* today is YYYY-MM-DD; the counter and the number use YYYYMM. */
	snprintf(name, sizeof(name), "ticket:%.4s%.2s", today, today + 5);
	if (store_counter_next(r->tdb, name, &seq) < 0)
		return -1;
	snprintf(out, n, "T-%.4s%.2s-%04" PRId64, today, today + 5, seq);
	return 0;
}

int
tickets_list(struct req *r)
{
	return reply_list(r, &ticket_list_spec);
}

int
tickets_get(struct req *r)
{
	struct ticket tk;

	if (req_found(r, store_ticket_get(r->tdb, r->ids[0], &tk), "ticket") <
	    0)
		return -1;
	return reply_row(r, 200, &ticket_row, &tk);
}

int
tickets_create(struct req *r)
{
	const struct fval *v = r->vals;
	int64_t assignee =
	    v[TICKET_F_ASSIGNED].present && !v[TICKET_F_ASSIGNED].is_null
	        ? v[TICKET_F_ASSIGNED].i
	        : 0;
	struct ticket tk = {0}, after;
	struct ticket_customer cust;
	char number[32];
	int64_t id;
	int rc;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	rc = store_ticket_customer(r->tdb, v[TICKET_F_CUSTOMER].i, &cust);
	if (rc < 0)
		return -1;
	if (rc == 0)
		req_detail(r, "customer_id",
		           "must be a customer of this tenant");
	if (assignee &&
	    (rc = store_ticket_assignee_ok(r->tdb, assignee)) <= 0) {
		if (rc < 0)
			return -1;
		req_detail(r, "assigned_to",
		           "must be an active user of this tenant");
	}
	if (r->err_details)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	if (next_number(r, number, sizeof(number)) < 0)
		return -1;
	tk.ticket_number = number;
	tk.customer_id = v[TICKET_F_CUSTOMER].i;
	tk.title = v[TICKET_F_TITLE].s;
	tk.description = v[TICKET_F_DESCRIPTION].s;
	tk.priority =
	    v[TICKET_F_PRIORITY].present ? v[TICKET_F_PRIORITY].s : "medium";
	tk.assigned_to = assignee;
	tk.created_by = r->who.user_id;
	if (store_ticket_insert(r->tdb, &tk, &id) < 0 ||
	    store_ticket_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "ticket", id, &ticket_row, NULL, &after,
	               "ticket:created") < 0 ||
	    (assignee && notify_assignee(r, &after, assignee) < 0))
		return -1;
	return reply_commit(r, 201, &ticket_row, &after);
}

int
tickets_update(struct req *r)
{
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct ticket_change c = {0};
	struct ticket before, after;
	int rc;

	c.title = fval_str(&v[TICKET_U_TITLE]);
	c.description = fval_str(&v[TICKET_U_DESCRIPTION]);
	c.priority = fval_str(&v[TICKET_U_PRIORITY]);
	c.status = fval_str(&v[TICKET_U_STATUS]);
	c.set_assignee = v[TICKET_U_ASSIGNED].present;
	if (c.set_assignee && !v[TICKET_U_ASSIGNED].is_null)
		c.assigned_to = v[TICKET_U_ASSIGNED].i;
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_ticket_lock(r->tdb, id, &before), "ticket") < 0)
		return -1;
	if (c.status) {
		const char *next = next_status(before.status);

		if (!next || strcmp(next, c.status) != 0) {
			req_fail(r, 422, "invalid_transition",
			         arena_printf(r->a,
			                      "a ticket that is %s can only "
			                      "move to %s",
			                      before.status,
			                      next ? next : "nothing"));
			req_detail(r, "status",
			           next ? arena_printf(r->a, "must be %s", next)
			                : "a closed ticket does not change "
			                  "status");
			return -1;
		}
	}
	if (c.assigned_to &&
	    (rc = store_ticket_assignee_ok(r->tdb, c.assigned_to)) <= 0)
		return rc < 0 ? -1
		              : req_invalid(r, "assigned_to",
		                            "must be an active user of this "
		                            "tenant");
	if (store_ticket_update(r->tdb, id, &c) < 0 ||
	    store_ticket_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "update", "ticket", id, &ticket_row, &before, &after,
	               "ticket:updated") < 0 ||
	    (c.assigned_to && c.assigned_to != before.assigned_to &&
	     notify_assignee(r, &after, c.assigned_to) < 0))
		return -1;
	return reply_commit(r, 200, &ticket_row, &after);
}

int
tickets_comments_list(struct req *r)
{
	return reply_list(r, &ticket_comment_list_spec);
}

int
tickets_comments_create(struct req *r)
{
	int64_t id = r->ids[0], cid;
	struct ticket_comment row;
	struct ticket tk;
	cJSON *ev;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Locking the ticket orders comments with status changes. */
	if (req_found(r, store_ticket_lock(r->tdb, id, &tk), "ticket") < 0 ||
	    store_ticket_comment_insert(r->tdb, id, r->who.user_id,
	                                r->vals[0].s, &cid) < 0 ||
	    store_ticket_comment_get(r->tdb, cid, &row) != 1 ||
	    req_record(r, "create", "ticket_comment", cid, &ticket_comment_row,
	               NULL, &row, NULL) < 0)
		return -1;
	ev = json_own(r->a, cJSON_CreateObject());
	if (!ev)
		return -1;
	json_add_int(ev, "id", id);
	cJSON_AddStringToObject(ev, "ticket_number", tk.ticket_number);
	json_add_int(ev, "comment_id", cid);
	if (event_emit(r->tdb, "ticket:updated", "ticket", id, ev) < 0)
		return -1;
	return reply_commit(r, 201, &ticket_comment_row, &row);
}
