/*
 * Customers: the subscribers of a tenant.
 *
 * customer_code ("C-000042") comes from the tenant's "customer" counter
 * row, taken in the creating transaction (lib/counter.h), so concurrent
 * creates never collide and a code is never handed out twice.
 * monthly_price is a snapshot: it defaults to the plan's price when the
 * customer is created or moved to another plan (unless the same request
 * gives one) and never follows later changes of the plan's price.
 *
 * pppoe_password is write-only.  It is sealed with AES-256-GCM (lib/
 * crypto.h) under the associated data "customer:<id>:pppoe"; since the id
 * exists only after the INSERT, the sealed value is written by an UPDATE
 * right after it, in the same transaction.  A sealed value copied into
 * another row or tenant therefore does not open.
 *
 * Status moves only through the actions (PATCH cannot set it):
 *	activate   pending|suspended -> active      job activate
 *	suspend    active -> suspended              job suspend
 *	terminate  pending|active|suspended -> terminated (terminal)
 *	                                            job terminate
 * Anything else is 422 invalid_transition.  Jobs go to the customer's
 * router (router_id, a router of this tenant: 422 otherwise) in the same
 * transaction as the change, and only for a customer that is active or
 * suspended or just stopped being so: nothing is ever written to a
 * router for a pending customer, so creating, editing and terminating a
 * pending customer queue nothing.  Activating a customer on a router
 * needs its pppoe_username and pppoe_password (422 otherwise), and an
 * active or suspended customer on a router cannot lose them.  What else
 * queues a job for an active or suspended customer: a plan change
 * (change_profile), a new PPPoE name or password (activate or suspend
 * again: the daemon removes the secret of the old name when it carries
 * our marker), a move to another router (terminate on the old one,
 * activate or suspend on the new one), and deletion (terminate).  Each
 * job's payload records the customer as it was queued, for the panel and
 * for the old name; the daemon (lib/provision.c) applies what the
 * customer is at the moment it runs.  After the commit the API nudges
 * rtrw-provision (lib/nudge.h), so a job starts within a second or two.
 *
 * DELETE is a soft delete: payments and tickets stay, and the customer
 * code stays taken.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "crypto.h"
#include "fields.h"
#include "json.h"
#include "nudge.h"
#include "reply.h"
#include "store/customer.h"
#include "store/plan.h"
#include "store/router.h"
#include "store/shared.h"

static const char *const customer_statuses[] = {
    "pending", "active", "suspended", "terminated", NULL};

/*
 * One table for POST and PATCH: the PATCH route is partial, which makes
 * the required fields optional.
 */
/* clang-format off */
const struct field customer_fields[] = {
	{ "name",            FT_STRING,   1, 200,  F_REQUIRED | F_TEXT, NULL },
	{ "phone",           FT_PHONE,    0, 0,    F_REQUIRED, NULL },
	{ "email",           FT_EMAIL,    0, 0,    F_NULLABLE, NULL },
	{ "address",         FT_STRING,   1, 500,  F_REQUIRED | F_TEXT, NULL },
	{ "service_plan_id", FT_ID,       0, 0,    F_REQUIRED, NULL },
	{ "router_id",       FT_ID,       0, 0,    F_NULLABLE, NULL },
	{ "pppoe_username",  FT_STRING,   1, 64,   F_NULLABLE | F_TEXT, NULL },
	{ "pppoe_password",  FT_PASSWORD, 4, 64,   F_NULLABLE | F_WRITE_ONLY, NULL },
	{ "monthly_price",   FT_MONEY,    0, 0,    F_MONEY_ZERO, NULL },
	{ "billing_day",     FT_INT,      1, 28,   0, NULL },
	{ "installed_at",    FT_DATE,     0, 0,    F_NULLABLE, NULL },
	{ "notes",           FT_STRING,   0, 2000, F_NULLABLE | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	CUSTOMER_F_NAME,
	CUSTOMER_F_PHONE,
	CUSTOMER_F_EMAIL,
	CUSTOMER_F_ADDRESS,
	CUSTOMER_F_PLAN,
	CUSTOMER_F_ROUTER,
	CUSTOMER_F_PPPOE_USER,
	CUSTOMER_F_PPPOE_PASS,
	CUSTOMER_F_PRICE,
	CUSTOMER_F_BILLING_DAY,
	CUSTOMER_F_INSTALLED,
	CUSTOMER_F_NOTES,
};

/* clang-format off */
static const struct filter_def customer_filters[] = {
	FILTER_ENUM_(struct customer_filter, status, customer_statuses,
	             "only customers with this status"),
	FILTER_ID_(struct customer_filter, service_plan_id,
	           "only customers on this plan"),
	FILTER_ID_(struct customer_filter, router_id,
	           "only customers on this router"),
	FILTER_SEARCH_(struct customer_filter, q, 100,
	               "name (word prefix), customer code or phone (prefix), "
	               "or email (exact)"),
	FILTER_END
};
/* clang-format on */

const struct list_spec customer_list_spec = {
    .store = &store_customer_list,
    .filters = customer_filters,
};

/* Lays the request's fields over c; null clears a nullable value. */
static void
customer_apply(struct customer *c, const struct fval *v)
{
#define STR(f, m)                                                              \
	if (v[f].present)                                                      \
		c->m = v[f].is_null ? NULL : v[f].s;
	STR(CUSTOMER_F_NAME, name)
	STR(CUSTOMER_F_PHONE, phone)
	STR(CUSTOMER_F_EMAIL, email)
	STR(CUSTOMER_F_ADDRESS, address)
	STR(CUSTOMER_F_PPPOE_USER, pppoe_username)
	STR(CUSTOMER_F_PRICE, monthly_price)
	STR(CUSTOMER_F_INSTALLED, installed_at)
	STR(CUSTOMER_F_NOTES, notes)
#undef STR
	if (v[CUSTOMER_F_PLAN].present)
		c->service_plan_id = v[CUSTOMER_F_PLAN].i;
	if (v[CUSTOMER_F_ROUTER].present)
		c->router_id =
		    v[CUSTOMER_F_ROUTER].is_null ? 0 : v[CUSTOMER_F_ROUTER].i;
	if (v[CUSTOMER_F_BILLING_DAY].present)
		c->billing_day = v[CUSTOMER_F_BILLING_DAY].i;
}

/*
 * A PPPoE user name as RouterOS takes it on the command line and in the
 * API without quoting trouble: letters, digits and . _ @ -.
 */
static int
pppoe_user_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._@-", c)))
			return 0;
	}
	return 1;
}

/* Checks what the field table cannot; 0, or -1 after a 422. */
static int
customer_check(struct req *r)
{
	const struct fval *v = &r->vals[CUSTOMER_F_PPPOE_USER];

	if (v->present && !v->is_null && !pppoe_user_ok(v->s))
		return req_invalid(r, "pppoe_username",
		                   "may hold only letters, digits and . _ @ -");
	return 0;
}

/*
 * Reads plan id with a shared lock (store_plan_share()).  0 when it is
 * an active plan of the tenant, -1 after a 422 naming the field or on
 * error.
 */
static int
plan_usable(struct req *r, int64_t id, struct plan *plan)
{
	int rc = store_plan_share(r->tdb, id, plan);

	if (rc < 0)
		return -1;
	if (rc == 1 && plan->active)
		return 0;
	return req_invalid(r, "service_plan_id",
	                   "must be an active service plan of this tenant");
}

/*
 * Checks that router id (0: none) is a live router of the tenant; 0, or
 * -1 after a 422 naming the field or on error.
 */
static int
router_usable(struct req *r, int64_t id)
{
	struct router rt;
	int rc;

	if (id == 0)
		return 0;
	rc = store_router_get(r->tdb, id, &rt);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	return req_invalid(r, "router_id", "must be a router of this tenant");
}

/*
 * Seals and stores the PPPoE password of customer id (NULL clears it).
 * The sealed bytes are wiped whatever happens: they are worth as much as
 * the key and the password together to anyone reading freed memory.
 */
static int
set_password(struct req *r, int64_t id, const char *password)
{
	unsigned char sealed[64 + CRYPTO_OVERHEAD + 8];
	char aad[64];
	long n;
	int rc;

	if (!password)
		return store_customer_set_password(r->tdb, id, NULL, 0);
	snprintf(aad, sizeof(aad), "customer:%" PRId64 ":pppoe", id);
	n = crypto_seal(r->cfg, aad, password, strlen(password), sealed,
	                sizeof(sealed));
	rc = n < 0 ? -1
	           : store_customer_set_password(r->tdb, id, sealed, (size_t)n);
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

/*
 * Queues a router operation for customer c on router_id (0: none, then
 * nothing is queued).  plan is the customer's plan (for the profile
 * name), or NULL; previous names a PPPoE user name the router may still
 * hold for c (a rename), or NULL.  Counts what it queued in r's nudge
 * flag.
 */
static int
queue_job(struct req *r, const struct customer *c, int64_t router_id,
          const struct plan *plan, const char *action, const char *previous,
          int *queued)
{
	cJSON *p;
	char *text;
	int rc;

	if (router_id == 0)
		return 0;
	p = json_own(r->a, cJSON_CreateObject());
	if (!p)
		return -1;
	json_add_int(p, "customer_id", c->id);
	cJSON_AddStringToObject(p, "customer_code", c->customer_code);
	json_add_str_or_null(p, "pppoe_username", c->pppoe_username);
	if (previous)
		cJSON_AddStringToObject(p, "previous_pppoe_username", previous);
	json_add_int(p, "service_plan_id", c->service_plan_id);
	json_add_str_or_null(p, "profile",
	                     plan ? plan->mikrotik_profile : NULL);
	text = cJSON_PrintUnformatted(p);
	if (!text)
		return -1;
	rc = store_customer_queue_job(r->tdb, c->id, router_id, action, text);
	cJSON_free(text);
	if (rc == 0)
		*queued = 1;
	return rc;
}

/* Whether a customer in this status has a secret on its router. */
static int
on_router(const char *status)
{
	return strcmp(status, "active") == 0 ||
	       strcmp(status, "suspended") == 0;
}

/* The action that brings a customer's secret to its status. */
static const char *
status_job(const char *status)
{
	return strcmp(status, "suspended") == 0 ? "suspend" : "activate";
}

/*
 * What a customer on a router needs before the router may hear of it:
 * a PPPoE user name and password.  0, or -1 after a 422 naming each
 * missing field.
 */
static int
pppoe_ready(struct req *r, int64_t id, const struct customer *c)
{
	struct customer_secret cs;
	int rc, bad = 0;

	if (c->router_id == 0)
		return 0;
	rc = store_customer_secret(r->tdb, id, &cs);
	if (rc < 0)
		return -1;
	if (!c->pppoe_username) {
		req_detail(r, "pppoe_username",
		           "is required for a customer on a router");
		bad = 1;
	}
	if (rc == 0 || !cs.password_enc.p) {
		req_detail(r, "pppoe_password",
		           "is required for a customer on a router");
		bad = 1;
	}
	if (bad)
		return req_fail(r, 422, "validation_failed",
		                "a customer on a router needs pppoe_username "
		                "and pppoe_password first");
	return 0;
}

/* Commits and replies; then nudges rtrw-provision when a job waits. */
static int
commit_and_nudge(struct req *r, int status, const struct customer *after,
                 int queued)
{
	int rc = reply_commit(r, status, after ? &customer_row : NULL, after);

	if (rc == 0 && queued)
		nudge_send(r->cfg);
	return rc;
}

/* Maps a failed write to 409 for a taken PPPoE user name. */
static int
write_failed(struct req *r)
{
	if (tdb_last_error(r->tdb) == DBE_DUPLICATE)
		return req_fail(r, 409, "conflict",
		                "this pppoe_username is already used on this "
		                "router");
	return -1;
}

int
customers_list(struct req *r)
{
	return reply_list(r, &customer_list_spec);
}

int
customers_get(struct req *r)
{
	struct customer c;

	if (req_found(r, store_customer_get(r->tdb, r->ids[0], &c),
	              "customer") < 0)
		return -1;
	return reply_row(r, 200, &customer_row, &c);
}

int
customers_stats(struct req *r)
{
	struct customer_counts n;
	cJSON *d;

	if (store_customer_counts(r->tdb, &n) < 0)
		return -1;
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	json_add_int(d, "total",
	             n.pending + n.active + n.suspended + n.terminated);
	json_add_int(d, "pending", n.pending);
	json_add_int(d, "active", n.active);
	json_add_int(d, "suspended", n.suspended);
	json_add_int(d, "terminated", n.terminated);
	return req_data(r, 200, d);
}

int
customers_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct customer c = {.billing_day = 1}, after;
	struct plan plan;
	char code[32];
	int64_t n, id;

	customer_apply(&c, v);
	if (customer_check(r) < 0 || tdb_begin(r->tdb) < 0)
		return -1;
	/* The plan first, then the counter: every writer locks in that order.
	 */
	if (plan_usable(r, c.service_plan_id, &plan) < 0)
		return -1;
	if (!c.monthly_price)
		c.monthly_price = plan.price;
	if (router_usable(r, c.router_id) < 0)
		return -1;
	if (store_counter_next(r->tdb, "customer", &n) < 0)
		return -1;
	snprintf(code, sizeof(code), "C-%06" PRId64, n);
	c.customer_code = code;
	if (store_customer_insert(r->tdb, &c, &id) < 0)
		return write_failed(r);
	if (v[CUSTOMER_F_PPPOE_PASS].present &&
	    !v[CUSTOMER_F_PPPOE_PASS].is_null &&
	    set_password(r, id, v[CUSTOMER_F_PPPOE_PASS].s) < 0)
		return -1;
	if (store_customer_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "customer", id, &customer_row, NULL, &after,
	               "customer:created") < 0)
		return -1;
	return reply_commit(r, 201, &customer_row, &after);
}

/*
 * The jobs a PATCH of an active or suspended customer needs (see the
 * file comment); 0 or -1.
 */
static int
update_jobs(struct req *r, const struct customer *before,
            const struct customer *after, const struct plan *plan,
            int plan_changed, int *queued)
{
	const struct fval *v = r->vals;
	int renamed =
	    !before->pppoe_username || !after->pppoe_username ||
	    strcmp(before->pppoe_username, after->pppoe_username) != 0;
	const char *job = status_job(after->status);
	struct plan cur;
	int rc;

	if (!on_router(after->status))
		return 0;
	if (!plan_changed) {
		rc = store_plan_get(r->tdb, after->service_plan_id, &cur);
		if (rc < 0)
			return -1;
		plan = rc ? &cur : NULL;
	}
	if (before->router_id != after->router_id) {
		if (queue_job(r, before, before->router_id, plan, "terminate",
		              NULL, queued) < 0)
			return -1;
		return queue_job(r, after, after->router_id, plan, job, NULL,
		                 queued);
	}
	if (renamed || v[CUSTOMER_F_PPPOE_PASS].present) {
		if (queue_job(r, after, after->router_id, plan, job,
		              renamed ? before->pppoe_username : NULL,
		              queued) < 0)
			return -1;
	}
	if (plan_changed)
		return queue_job(r, after, after->router_id, plan,
		                 "change_profile", NULL, queued);
	return 0;
}

int
customers_update(struct req *r)
{
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct customer before, c, after;
	struct plan plan;
	int plan_changed, queued = 0;

	if (customer_check(r) < 0 || tdb_begin(r->tdb) < 0)
		return -1;
	if (req_found(r, store_customer_lock(r->tdb, id, &before), "customer") <
	    0)
		return -1;
	c = before;
	plan_changed = v[CUSTOMER_F_PLAN].present &&
	               v[CUSTOMER_F_PLAN].i != c.service_plan_id;
	customer_apply(&c, v);
	if (plan_changed) {
		if (plan_usable(r, c.service_plan_id, &plan) < 0)
			return -1;
		if (!v[CUSTOMER_F_PRICE].present)
			c.monthly_price = plan.price;
	}
	if (v[CUSTOMER_F_ROUTER].present && router_usable(r, c.router_id) < 0)
		return -1;
	if (store_customer_update(r->tdb, &c) < 0)
		return write_failed(r);
	if (v[CUSTOMER_F_PPPOE_PASS].present &&
	    set_password(r, id,
	                 v[CUSTOMER_F_PPPOE_PASS].is_null
	                     ? NULL
	                     : v[CUSTOMER_F_PPPOE_PASS].s) < 0)
		return -1;
	if (store_customer_get(r->tdb, id, &after) != 1)
		return -1;
	if (on_router(after.status) && pppoe_ready(r, id, &after) < 0)
		return -1;
	if (update_jobs(r, &before, &after, plan_changed ? &plan : NULL,
	                plan_changed, &queued) < 0 ||
	    (queued && store_customer_get(r->tdb, id, &after) != 1))
		return -1;
	if (req_record(r, "update", "customer", id, &customer_row, &before,
	               &after, "customer:updated") < 0)
		return -1;
	return commit_and_nudge(r, 200, &after, queued);
}

int
customers_delete(struct req *r)
{
	int64_t id = r->ids[0];
	struct customer before;
	struct plan plan;
	int rc, queued = 0;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (req_found(r, store_customer_lock(r->tdb, id, &before), "customer") <
	        0 ||
	    store_customer_delete(r->tdb, id) < 0)
		return -1;
	/* A customer still on a router must not keep its secret there. */
	if (on_router(before.status)) {
		rc = store_plan_get(r->tdb, before.service_plan_id, &plan);
		if (rc < 0 ||
		    queue_job(r, &before, before.router_id, rc ? &plan : NULL,
		              "terminate", NULL, &queued) < 0)
			return -1;
	}
	if (req_record(r, "delete", "customer", id, &customer_row, &before,
	               NULL, "customer:deleted") < 0)
		return -1;
	return commit_and_nudge(r, 204, NULL, queued);
}

/* The lifecycle actions: where each may start, where it leads. */
static const struct action {
	const char *name;    /* audit action, URL verb and job action */
	const char *from[4]; /* statuses it may start from */
	const char *to;      /* resulting status */
} actions[] = {
    {"activate", {"pending", "suspended", NULL}, "active"},
    {"suspend", {"active", NULL}, "suspended"},
    {"terminate", {"pending", "active", "suspended", NULL}, "terminated"},
};

static int
customer_action(struct req *r, const struct action *act)
{
	int64_t id = r->ids[0];
	struct customer before, after;
	struct plan plan;
	int ok = 0, rc, queued = 0;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (req_found(r, store_customer_lock(r->tdb, id, &before), "customer") <
	    0)
		return -1;
	for (size_t i = 0; act->from[i]; i++)
		ok |= strcmp(act->from[i], before.status) == 0;
	if (!ok)
		return req_fail(r, 422, "invalid_transition",
		                arena_printf(r->a,
		                             "a %s customer cannot be moved "
		                             "to %s",
		                             before.status, act->to));
	if (on_router(act->to) && pppoe_ready(r, id, &before) < 0)
		return -1;
	if (store_customer_set_status(r->tdb, id, act->to) < 0 ||
	    store_customer_get(r->tdb, id, &after) != 1)
		return -1;
	/* A pending customer was never on the router: nothing to undo. */
	if (on_router(before.status) || on_router(act->to)) {
		rc = store_plan_get(r->tdb, after.service_plan_id, &plan);
		if (rc < 0 ||
		    queue_job(r, &after, after.router_id, rc ? &plan : NULL,
		              act->name, NULL, &queued) < 0 ||
		    (queued && store_customer_get(r->tdb, id, &after) != 1))
			return -1;
	}
	if (req_record(r, act->name, "customer", id, &customer_row, &before,
	               &after, "customer:updated") < 0)
		return -1;
	return commit_and_nudge(r, 200, &after, queued);
}

int
customers_activate(struct req *r)
{
	return customer_action(r, &actions[0]);
}

int
customers_suspend(struct req *r)
{
	return customer_action(r, &actions[1]);
}

int
customers_terminate(struct req *r)
{
	return customer_action(r, &actions[2]);
}
