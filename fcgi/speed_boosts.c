/*
 * Speed boosts: a customer asks for a faster plan for some hours, an
 * operator approves or rejects, and rtrw-boost expire ends it at end_at.
 *
 *	create   -> pending          (price quoted now)
 *	approve  pending -> active   start_at now, end_at start_at + hours
 *	reject   pending -> rejected with a reason
 *	cancel   pending|active -> cancelled
 *	expire   active -> expired   (jobs/boost.c, at end_at)
 * approve, reject and cancel of a boost in any other status are 409
 * conflict, and so is an approve that the customer's state no longer
 * allows (below).  Each change is audited and writes a
 * speed_boost:updated event with the boost (there is no separate
 * created event: API.md names only this one).
 *
 * Validation of a request: the customer must be a live, non-terminated
 * customer of the tenant and the boost plan an active plan of the
 * tenant, strictly faster by download than the customer's plan at that
 * moment (422 otherwise; equal is not faster).  base_plan_id is that
 * plan, and the price is a quote in exact cents (lib/money.h):
 *	round_half_up((boost.price - base.price) * duration_hours / 720, 2)
 * with both prices the plans' current prices.  A boost plan that costs
 * no more than the customer's plan makes a free boost (0.00), never a
 * negative price: a credit is the billing's business, not a boost's.
 *
 * approve refuses (409) when the customer has since been deleted or
 * terminated, when the boost plan has been deleted, and when the
 * customer's plan is no longer base_plan_id: the quote was made against
 * the old plan, so the request must be made again.  A pending or
 * suspended customer may be given a boost; its clock runs from the
 * approval, and activation applies whatever is effective then.
 *
 * Several boosts of one customer may be active at once.  The customer
 * runs at the fastest active one (store_boost_effective_plan()); when
 * the last ends it runs at the plan it has then.  A change that alters
 * what the customer should run at (approving the new fastest boost,
 * cancelling or expiring the one that was) queues one change_profile
 * job for an active customer with a router (store_boost_queue_change());
 * a change that alters nothing (a slower boost beside a faster one)
 * queues none, because applying a profile drops the customer's PPPoE
 * session.
 *
 * After the commit of a change that queued a job the API nudges
 * rtrw-provision (lib/nudge.h), as the customer actions do, so that the
 * router hears of it within a second or two rather than at the next poll.
 *
 * Approval queues the speed_boost_approved email to the customer's
 * email address.  A customer without one gets nothing: the boost is no
 * news to the staff who approved it, and customers have no user
 * accounts to notify otherwise.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "fields.h"
#include "json.h"
#include "money.h"
#include "notify.h"
#include "nudge.h"
#include "reply.h"
#include "store/boost.h"
#include "store/customer.h"
#include "store/plan.h"

static const char *const boost_statuses[] = {"pending",  "active",    "expired",
                                             "rejected", "cancelled", NULL};

/* The hours of the month the price formula divides by (API.md). */
#define BOOST_MONTH_HOURS 720

/* clang-format off */
const struct field speed_boost_fields[] = {
	{ "customer_id",    FT_ID,  0, 0,   F_REQUIRED, NULL },
	{ "boost_plan_id",  FT_ID,  0, 0,   F_REQUIRED, NULL },
	{ "duration_hours", FT_INT, 1, BOOST_MONTH_HOURS, F_REQUIRED, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	SPEED_BOOST_F_CUSTOMER,
	SPEED_BOOST_F_PLAN,
	SPEED_BOOST_F_HOURS,
};

const struct field speed_boost_reject_fields[] = {
	{ "reason", FT_STRING, 1, 500, F_REQUIRED | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	SPEED_BOOST_R_REASON,
};

static const struct filter_def speed_boost_filters[] = {
	FILTER_ID_(struct boost_filter, customer_id,
	           "only this customer's boosts"),
	FILTER_ENUM_(struct boost_filter, status, boost_statuses,
	             "only boosts with this status"),
	FILTER_END
};
/* clang-format on */

const struct list_spec speed_boost_list_spec = {
    .store = &store_boost_list,
    .filters = speed_boost_filters,
};

/*
 * The quote of a boost: the pro-rata part of the monthly difference in
 * cents, into out (MONEY_STR_MAX bytes).  0, or -1 on a price the
 * database should never have given us.
 */
static int
quote(const struct plan *boost, const struct plan *base, int64_t hours,
      char *out)
{
	int64_t b, c, cents;

	if (money_parse(boost->price, &b) < 0 ||
	    money_parse(base->price, &c) < 0)
		return -1;
	if (b <= c) {
		money_format(0, out);
		return 0;
	}
	if (money_prorate(b - c, hours, BOOST_MONTH_HOURS, &cents) < 0)
		return -1;
	money_format(cents, out);
	return 0;
}

/* 409 conflict with a sentence; always -1. */
static int
conflict(struct req *r, const char *msg)
{
	return req_fail(r, 409, "conflict", msg);
}

/*
 * Locks boost id and then its customer (the order of every boost
 * writer, lib/store/boost.h).  0 with *c_found 1 or 0 (a deleted
 * customer), or -1 after a 404 or on error.
 */
static int
lock_boost(struct req *r, int64_t id, struct boost *b, struct customer *c,
           int *c_found)
{
	int rc;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_boost_lock(r->tdb, id, b), "speed boost") < 0)
		return -1;
	rc = store_customer_lock(r->tdb, b->customer_id, c);
	if (rc < 0)
		return -1;
	*c_found = rc;
	return 0;
}

/* Commits and replies with b; then nudges rtrw-provision when queued. */
static int
commit_and_nudge(struct req *r, const struct boost *b, int queued)
{
	int rc = reply_commit(r, 200, &boost_row, b);

	if (rc == 0 && queued > 0)
		nudge_send(r->cfg);
	return rc;
}

/* Queues the speed_boost_approved email when the customer has one. */
static int
notify_customer(struct req *r, const struct boost *b, const struct customer *c,
                const struct plan *plan)
{
	char key[64], when[40];
	cJSON *p;

	if (!c->email)
		return 0;
	p = json_own(r->a, cJSON_CreateObject());
	if (!p)
		return -1;
	json_add_int(p, "boost_id", b->id);
	json_add_int(p, "customer_id", c->id);
	cJSON_AddStringToObject(p, "customer_name", c->name);
	cJSON_AddStringToObject(p, "customer_code", c->customer_code);
	cJSON_AddStringToObject(p, "plan_name", plan->name);
	json_add_int(p, "speed_download", plan->speed_download);
	json_add_int(p, "speed_upload", plan->speed_upload);
	json_add_int(p, "duration_hours", b->duration_hours);
	json_add_decimal(p, "price", b->price);
	row_time_rfc3339(b->start_at, when, sizeof(when));
	cJSON_AddStringToObject(p, "starts_at", when);
	row_time_rfc3339(b->end_at, when, sizeof(when));
	cJSON_AddStringToObject(p, "ends_at", when);
	snprintf(key, sizeof(key), "speed_boost_approved:%" PRId64, b->id);
	return notify_queue(r->tdb, "speed_boost_approved", 0, c->email, p,
	                    key) < 0
	           ? -1
	           : 0;
}

int
speed_boosts_list(struct req *r)
{
	return reply_list(r, &speed_boost_list_spec);
}

int
speed_boosts_get(struct req *r)
{
	struct boost b;

	if (req_found(r, store_boost_get(r->tdb, r->ids[0], &b),
	              "speed boost") < 0)
		return -1;
	return reply_row(r, 200, &boost_row, &b);
}

int
speed_boosts_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct boost b = {0}, after;
	struct plan boost_plan, base;
	struct customer c;
	char price[MONEY_STR_MAX];
	int c_rc, p_rc;
	int64_t id;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	/*
	 * The customer row is locked, so its plan cannot change under the
	 * quote; the boost plan is share-locked like a customer's plan.
	 */
	c_rc = store_customer_lock(r->tdb, v[SPEED_BOOST_F_CUSTOMER].i, &c);
	if (c_rc < 0)
		return -1;
	if (c_rc == 0)
		req_detail(r, "customer_id",
		           "must be a customer of this tenant");
	else if (strcmp(c.status, "terminated") == 0)
		req_detail(r, "customer_id",
		           "must not be a terminated customer");
	p_rc = store_plan_share(r->tdb, v[SPEED_BOOST_F_PLAN].i, &boost_plan);
	if (p_rc < 0)
		return -1;
	if (p_rc == 0 || !boost_plan.active)
		req_detail(r, "boost_plan_id",
		           "must be an active service plan of this tenant");
	if (r->err_details)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	if (store_plan_get(r->tdb, c.service_plan_id, &base) != 1)
		return -1;
	if (boost_plan.speed_download <= base.speed_download)
		return req_invalid(
		    r, "boost_plan_id",
		    arena_printf(r->a,
		                 "must be faster (download) than the "
		                 "customer's plan (%" PRId64 " kbps)",
		                 base.speed_download));
	if (quote(&boost_plan, &base, v[SPEED_BOOST_F_HOURS].i, price) < 0)
		return -1;
	b.customer_id = c.id;
	b.boost_plan_id = boost_plan.id;
	b.base_plan_id = base.id;
	b.duration_hours = v[SPEED_BOOST_F_HOURS].i;
	b.price = price;
	b.requested_by = r->who.user_id;
	if (store_boost_insert(r->tdb, &b, &id) < 0 ||
	    store_boost_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "speed_boost", id, &boost_row, NULL, &after,
	               "speed_boost:updated") < 0)
		return -1;
	return reply_commit(r, 201, &boost_row, &after);
}

int
speed_boosts_approve(struct req *r)
{
	int64_t id = r->ids[0];
	struct boost before, after;
	struct customer c;
	struct plan plan;
	int c_found, rc, queued;

	if (lock_boost(r, id, &before, &c, &c_found) < 0)
		return -1;
	if (strcmp(before.status, "pending") != 0)
		return conflict(r,
		                arena_printf(r->a,
		                             "only a pending speed boost can "
		                             "be approved; this one is %s",
		                             before.status));
	if (!c_found)
		return conflict(r, "the customer of this speed boost has been "
		                   "deleted");
	if (strcmp(c.status, "terminated") == 0)
		return conflict(r, "the customer of this speed boost has been "
		                   "terminated");
	if (c.service_plan_id != before.base_plan_id)
		return conflict(r, "the customer's plan has changed since this "
		                   "speed boost was requested, so its price no "
		                   "longer holds; reject it and request again");
	rc = store_plan_get(r->tdb, before.boost_plan_id, &plan);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return conflict(r,
		                "the boost plan of this speed boost has been "
		                "deleted");
	if (store_boost_approve(r->tdb, id, r->who.user_id) != 1 ||
	    store_boost_get(r->tdb, id, &after) != 1 ||
	    (queued = store_boost_queue_change(r->tdb, &after, &c, NULL,
	                                       "boost_started")) < 0 ||
	    notify_customer(r, &after, &c, &plan) < 0 ||
	    req_record(r, "approve", "speed_boost", id, &boost_row, &before,
	               &after, "speed_boost:updated") < 0)
		return -1;
	return commit_and_nudge(r, &after, queued);
}

int
speed_boosts_reject(struct req *r)
{
	int64_t id = r->ids[0];
	struct boost before, after;
	struct customer c;
	int c_found;

	if (lock_boost(r, id, &before, &c, &c_found) < 0)
		return -1;
	if (strcmp(before.status, "pending") != 0)
		return conflict(r,
		                arena_printf(r->a,
		                             "only a pending speed boost can "
		                             "be rejected; this one is %s",
		                             before.status));
	if (store_boost_reject(r->tdb, id, r->who.user_id,
	                       r->vals[SPEED_BOOST_R_REASON].s) != 1 ||
	    store_boost_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "reject", "speed_boost", id, &boost_row, &before,
	               &after, "speed_boost:updated") < 0)
		return -1;
	return reply_commit(r, 200, &boost_row, &after);
}

int
speed_boosts_cancel(struct req *r)
{
	int64_t id = r->ids[0];
	struct boost before, after;
	struct customer c;
	int c_found, queued = 0;

	if (lock_boost(r, id, &before, &c, &c_found) < 0)
		return -1;
	if (strcmp(before.status, "pending") != 0 &&
	    strcmp(before.status, "active") != 0)
		return conflict(r,
		                arena_printf(r->a,
		                             "only a pending or active speed "
		                             "boost can be cancelled; this "
		                             "one is %s",
		                             before.status));
	if (store_boost_cancel(r->tdb, id) != 1 ||
	    store_boost_get(r->tdb, id, &after) != 1)
		return -1;
	/* A pending boost never changed the router. */
	if (c_found && strcmp(before.status, "active") == 0 &&
	    (queued = store_boost_queue_change(r->tdb, &before, &c, NULL,
	                                       "boost_cancelled")) < 0)
		return -1;
	if (req_record(r, "cancel", "speed_boost", id, &boost_row, &before,
	               &after, "speed_boost:updated") < 0)
		return -1;
	return commit_and_nudge(r, &after, queued);
}
