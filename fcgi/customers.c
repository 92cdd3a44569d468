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
 *	activate   pending|suspended -> active      job create_secret
 *	suspend    active -> suspended              job disable_secret
 *	terminate  pending|active|suspended -> terminated (terminal)
 *	                                            job remove_secret
 * Anything else is 422 invalid_transition.  Each action, a plan change
 * of an active or suspended customer (change_profile) and the deletion of
 * a customer that is not terminated (remove_secret) write a
 * provisioning_jobs row in the same transaction, but only when the
 * customer has a router_id: a customer without a router has nothing to
 * provision, and the job would have nowhere to go.  The router worker
 * (router issue) treats create_secret as "make the secret exist, enabled,
 * with the plan's profile", which is also what reactivation needs.
 *
 * DELETE is a soft delete: payments and tickets stay, and the customer
 * code stays taken.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "counter.h"
#include "crypto.h"
#include "db.h"
#include "events.h"
#include "fields.h"
#include "json.h"
#include "store/store.h"
#include "util.h"

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
	C_NAME,
	C_PHONE,
	C_EMAIL,
	C_ADDRESS,
	C_PLAN,
	C_ROUTER,
	C_PPPOE_USER,
	C_PPPOE_PASS,
	C_PRICE,
	C_BILLING_DAY,
	C_INSTALLED,
	C_NOTES,
	C__N
};

/* Columns of CUSTOMER_COLS (lib/store/customer.c). */
enum {
	COL_ID,
	COL_CODE,
	COL_NAME,
	COL_PHONE,
	COL_EMAIL,
	COL_ADDRESS,
	COL_PLAN,
	COL_STATUS,
	COL_ROUTER,
	COL_PPPOE_USER,
	COL_PRICE,
	COL_BILLING_DAY,
	COL_INSTALLED,
	COL_NOTES,
};

/* Plan columns used here (PLAN_COLS, lib/store/plan.c). */
#define PLAN_COL_PRICE   4
#define PLAN_COL_ACTIVE  5
#define PLAN_COL_PROFILE 13

static const char *const customer_sorts[] = {
    "-id",   "id",         "name",        "-name",         "code",
    "-code", "created_at", "-created_at", "monthly_price", "-monthly_price",
    NULL,
};

#define SEARCH_MAX_WORDS 8

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "customer not found");
}

/* The values a customer row is written with. */
struct customer {
	const char *name, *phone, *email, *address, *pppoe_user, *price;
	const char *installed, *notes;
	int64_t plan, router, billing_day;
};

static void
customer_from_row(struct customer *c, const struct dbres *res)
{
	c->name = dbres_get(res, 0, COL_NAME);
	c->phone = dbres_get(res, 0, COL_PHONE);
	c->email = dbres_get(res, 0, COL_EMAIL);
	c->address = dbres_get(res, 0, COL_ADDRESS);
	c->plan = dbres_int(res, 0, COL_PLAN);
	c->router = dbres_int(res, 0, COL_ROUTER);
	c->pppoe_user = dbres_get(res, 0, COL_PPPOE_USER);
	c->price = dbres_get(res, 0, COL_PRICE);
	c->billing_day = dbres_int(res, 0, COL_BILLING_DAY);
	c->installed = dbres_get(res, 0, COL_INSTALLED);
	c->notes = dbres_get(res, 0, COL_NOTES);
}

/* Lays the request's fields over c; null clears a nullable value. */
static void
customer_apply(struct customer *c, const struct fval *v)
{
#define STR(f, m)                                                              \
	if (v[f].present)                                                      \
		c->m = v[f].is_null ? NULL : v[f].s;
	STR(C_NAME, name)
	STR(C_PHONE, phone)
	STR(C_EMAIL, email)
	STR(C_ADDRESS, address)
	STR(C_PPPOE_USER, pppoe_user)
	STR(C_PRICE, price)
	STR(C_INSTALLED, installed)
	STR(C_NOTES, notes)
#undef STR
	if (v[C_PLAN].present)
		c->plan = v[C_PLAN].i;
	if (v[C_ROUTER].present)
		c->router = v[C_ROUTER].is_null ? 0 : v[C_ROUTER].i;
	if (v[C_BILLING_DAY].present)
		c->billing_day = v[C_BILLING_DAY].i;
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
	const struct fval *v = &r->vals[C_PPPOE_USER];

	if (v->present && !v->is_null && !pppoe_user_ok(v->s)) {
		return req_invalid(r, "pppoe_username",
		                   "may hold only letters, digits and . _ @ -");
	}
	return 0;
}

/*
 * Reads plan id with a shared lock (see PLAN_GET_SHARED).  1 when it is an
 * active plan of the tenant, 0 after a 422 naming the field, -1 on error.
 */
static int
plan_usable(struct req *r, int64_t id, struct dbres *plan)
{
	if (tdb_query(r->tdb, &store_plan_stmts[PLAN_GET_SHARED],
	              DB_ARGS(DBI(id)), plan) < 0)
		return -1;
	if (plan->nrows == 1 &&
	    strcmp(dbres_get(plan, 0, PLAN_COL_ACTIVE), "1") == 0)
		return 1;
	req_invalid(r, "service_plan_id",
	            "must be an active service plan of this tenant");
	return 0;
}

/* Seals and stores the PPPoE password of customer id (NULL clears it). */
static int
store_password(struct req *r, int64_t id, const char *password)
{
	unsigned char sealed[64 + CRYPTO_OVERHEAD + 8];
	char aad[64];
	long n;
	int rc = -1;

	if (!password)
		return tdb_query(r->tdb,
		                 &store_customer_stmts[CUSTOMER_SET_PASSWORD],
		                 DB_ARGS(DBNULL('b'), DBI(id)), NULL);
	snprintf(aad, sizeof(aad), "customer:%" PRId64 ":pppoe", id);
	n = crypto_seal(r->cfg, aad, password, strlen(password), sealed,
	                sizeof(sealed));
	if (n >= 0)
		rc = tdb_query(r->tdb,
		               &store_customer_stmts[CUSTOMER_SET_PASSWORD],
		               DB_ARGS(DBB(sealed, (size_t)n), DBI(id)), NULL);
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

/*
 * Queues a router operation for customer row 0 of cust when it has a
 * router.  plan is the customer's plan row (for the profile name).
 */
static int
queue_job(struct req *r, const struct dbres *cust, const struct dbres *plan,
          const char *action)
{
	int64_t router = dbres_int(cust, 0, COL_ROUTER);
	cJSON *p;
	char *text;
	int rc;

	if (router == 0)
		return 0;
	p = json_own(r->a, cJSON_CreateObject());
	if (!p)
		return -1;
	json_add_int(p, "customer_id", dbres_int(cust, 0, COL_ID));
	cJSON_AddStringToObject(p, "customer_code",
	                        dbres_get(cust, 0, COL_CODE));
	json_add_str_or_null(p, "pppoe_username",
	                     dbres_get(cust, 0, COL_PPPOE_USER));
	json_add_int(p, "service_plan_id", dbres_int(cust, 0, COL_PLAN));
	json_add_str_or_null(p, "profile",
	                     plan && plan->nrows == 1
	                         ? dbres_get(plan, 0, PLAN_COL_PROFILE)
	                         : NULL);
	text = cJSON_PrintUnformatted(p);
	if (!text)
		return -1;
	rc = tdb_query(r->tdb, &store_customer_stmts[CUSTOMER_JOB_INSERT],
	               DB_ARGS(DBI(dbres_int(cust, 0, COL_ID)), DBI(router),
	                       DBS(action), DBS(text)),
	               NULL);
	cJSON_free(text);
	return rc;
}

/* Writes the audit entry and the event of a change; 0 or -1. */
static int
record(struct req *r, const char *action, const char *event, int64_t id,
       const struct dbres *before, const struct dbres *after)
{
	cJSON *old = NULL, *new = NULL;

	if (before)
		old = json_own(r->a, dbres_row_json(before, 0, NULL));
	if (after)
		new = json_own(r->a, dbres_row_json(after, 0, NULL));
	if (audit_req(r, action, "customer", id, old, new) < 0)
		return -1;
	return event_emit(r->tdb, event, "customer", id, new ? new : old);
}

/* Appends s to b with LIKE's wildcards escaped ('!' is the escape). */
static void
like_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '!')
			buf_addch(b, '!');
		buf_addch(b, *s);
	}
}

/*
 * Builds the boolean-mode term for a name search: every word of q
 * becomes "+word*" (all words must match, each as a prefix).  Only
 * letters and digits (and any non-ASCII byte, so that UTF-8 names work)
 * make up words; everything else, the boolean operators + - < > ( ) ~ *
 * " @ included, separates them, so user input can never change the
 * query's meaning.  The term is bound as a value like any other.
 */
static void
fulltext_term(struct buf *b, const char *q, int64_t tenant_id)
{
	int words = 0, in_word = 0;

	/*
	 * The indexed document starts with the tenant's token (migration
	 * 0007): requiring it lets the full-text engine keep to this tenant
	 * instead of reading every tenant's matches.
	 */
	buf_addf(b, "+tnt%" PRId64, tenant_id);
	for (const char *s = q; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c >= 0x80;

		if (word && !in_word) {
			if (words == SEARCH_MAX_WORDS)
				break;
			buf_adds(b, " +");
			words++;
		}
		if (!word && in_word)
			buf_addch(b, '*');
		if (word)
			buf_addch(b, (char)c);
		in_word = word;
	}
	if (in_word)
		buf_addch(b, '*');
	/* No word at all: the token alone would match the whole tenant. */
	if (words == 0)
		buf_reset(b);
}

/*
 * Answers a list page.  The last column of rows is total_count (see
 * CUSTOMER_LIST), which is not part of a customer.
 */
static int
list_reply(struct req *r, const struct dbres *rows, int64_t page,
           int64_t per_page, int64_t total)
{
	static const char *const skip[] = {"total_count", NULL};

	return req_list_rows(r, rows, NULL, skip, page, per_page, total);
}

int
customers_list(struct req *r)
{
	const struct stmt_def *C = store_customer_stmts;
	int64_t page, per_page, plan, router, off, total;
	const char *status, *q, *lk = NULL, *tm = NULL, *counted;
	struct dbres rows, count;
	size_t sort;
	int rc;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, customer_sorts, &sort) < 0 ||
	    req_param_enum(r, "status", customer_statuses, &status) < 0 ||
	    req_param_id(r, "service_plan_id", &plan) < 0 ||
	    req_param_id(r, "router_id", &router) < 0)
		return -1;
	off = (page - 1) * per_page;
	q = req_param(r, "q");
	if (q && strlen(q) > 100) {
		req_detail(r, "q", "must be at most 100 characters");
		return req_fail(r, 422, "validation_failed",
		                "a query parameter is invalid");
	}
	while (q && *q == ' ')
		q++;
	if (q && !*q)
		q = NULL;
	if (q) {
		struct buf like = BUF_INIT(512), term = BUF_INIT(1024);

		like_escape(&like, q);
		buf_addch(&like, '%');
		fulltext_term(&term, q, tdb_tenant(r->tdb));
		lk = arena_strdup(r->a, like.s);
		tm = arena_strdup(r->a, term.s);
		buf_release(&like);
		buf_release(&term);
		if (!lk || !tm)
			return -1;
		if (tdb_query_order(r->tdb, &C[CUSTOMER_SEARCH], sort,
		                    DB_ARGS(DBS(lk), DBS(lk), DBS(q), DBS(tm),
		                            DBS(status), DBS(status), DBI(plan),
		                            DBI(plan), DBI(router), DBI(router),
		                            DBI(per_page), DBI(off)),
		                    &rows) < 0)
			return -1;
	} else if (tdb_query_order(
	               r->tdb, &C[CUSTOMER_LIST], sort,
	               DB_ARGS(DBI(plan), DBI(router), DBS(status), DBS(status),
	                       DBS(status), DBS(status), DBS(status),
	                       DBS(status), DBI(plan), DBI(plan), DBI(router),
	                       DBI(router), DBI(per_page), DBI(off)),
	               &rows) < 0) {
		return -1;
	}
	/*
	 * A page that is not full, and not empty (or the first), ends the
	 * list: the total follows without counting.  Otherwise the rows
	 * carry it (total_count) unless the page is empty.
	 */
	if ((int64_t)rows.nrows < per_page && (rows.nrows > 0 || page == 1))
		return list_reply(r, &rows, page, per_page,
		                  off + (int64_t)rows.nrows);
	counted = rows.nrows ? dbres_get(&rows, 0, rows.ncols - 1) : NULL;
	if (counted)
		return list_reply(r, &rows, page, per_page,
		                  dbres_int(&rows, 0, rows.ncols - 1));
	if (q)
		rc = tdb_query(r->tdb, &C[CUSTOMER_SEARCH_COUNT],
		               DB_ARGS(DBS(lk), DBS(lk), DBS(q), DBS(tm),
		                       DBS(status), DBS(status), DBI(plan),
		                       DBI(plan), DBI(router), DBI(router)),
		               &count);
	else if (!plan && !router)
		rc = tdb_query(
		    r->tdb, &C[CUSTOMER_COUNT_ALL],
		    DB_ARGS(DBS(status), DBS(status), DBS(status), DBS(status)),
		    &count);
	else
		rc = tdb_query(r->tdb, &C[CUSTOMER_COUNT],
		               DB_ARGS(DBS(status), DBS(status), DBI(plan),
		                       DBI(plan), DBI(router), DBI(router)),
		               &count);
	if (rc < 0)
		return -1;
	total = count.nrows ? dbres_int(&count, 0, 0) : 0;
	return list_reply(r, &rows, page, per_page, total);
}

int
customers_get(struct req *r)
{
	return req_get_one(r, &store_customer_stmts[CUSTOMER_GET], NULL,
	                   "customer not found");
}

int
customers_stats(struct req *r)
{
	struct dbres res;
	int64_t total = 0, n;
	cJSON *d;

	if (tdb_query(r->tdb, &store_customer_stmts[CUSTOMER_STATUS_COUNTS],
	              DB_NOARGS, &res) < 0)
		return -1;
	d = cJSON_CreateObject();
	for (size_t s = 0; s < 4; s++)
		total += res.nrows ? dbres_int(&res, 0, s) : 0;
	json_add_int(d, "total", total);
	for (size_t s = 0; s < 4; s++) {
		n = res.nrows ? dbres_int(&res, 0, s) : 0;
		json_add_int(d, customer_statuses[s], n);
	}
	return req_data(r, 200, d);
}

/* Maps a failed write to 409 for a taken PPPoE user name. */
static int
write_failed(struct req *r)
{
	if (tdb_last_error(r->tdb) == DBE_DUPLICATE) {
		tdb_rollback(r->tdb);
		return req_fail(r, 409, "conflict",
		                "this pppoe_username is already used on this "
		                "router");
	}
	tdb_rollback(r->tdb);
	return -1;
}

int
customers_create(struct req *r)
{
	const struct stmt_def *C = store_customer_stmts;
	const struct fval *v = r->vals;
	struct customer c;
	struct dbres plan, ins, after;
	char code[32];
	int64_t n, id;
	int rc;

	if (customer_check(r) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.billing_day = 1;
	customer_apply(&c, v);
	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* The plan first, then the counter: every writer locks in that order.
	 */
	rc = plan_usable(r, c.plan, &plan);
	if (rc <= 0) {
		tdb_rollback(r->tdb);
		return -1;
	}
	if (!c.price)
		c.price = dbres_get(&plan, 0, PLAN_COL_PRICE);
	if (counter_next(r->tdb, "customer", &n) < 0)
		goto out_fail;
	snprintf(code, sizeof(code), "C-%06" PRId64, n);
	if (tdb_query(r->tdb, &C[CUSTOMER_INSERT],
	              DB_ARGS(DBS(code), DBS(c.name), DBS(c.phone),
	                      DBS(c.email), DBS(c.address), DBI(c.plan),
	                      c.router ? DBI(c.router) : DBNULL('i'),
	                      DBS(c.pppoe_user), DBD(c.price),
	                      DBI(c.billing_day), DBS(c.installed),
	                      DBS(c.notes)),
	              &ins) < 0)
		return write_failed(r);
	id = (int64_t)ins.insert_id;
	if (v[C_PPPOE_PASS].present && !v[C_PPPOE_PASS].is_null &&
	    store_password(r, id, v[C_PPPOE_PASS].s) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &C[CUSTOMER_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1 ||
	    record(r, "create", "customer:created", id, NULL, &after) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
customers_update(struct req *r)
{
	const struct stmt_def *C = store_customer_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct dbres before, after, plan;
	struct customer c;
	int plan_changed, rc;
	const char *status;

	if (customer_check(r) < 0)
		return -1;
	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &C[CUSTOMER_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	customer_from_row(&c, &before);
	plan_changed = v[C_PLAN].present && v[C_PLAN].i != c.plan;
	customer_apply(&c, v);
	memset(&plan, 0, sizeof(plan));
	if (plan_changed) {
		rc = plan_usable(r, c.plan, &plan);
		if (rc <= 0) {
			tdb_rollback(r->tdb);
			return -1;
		}
		if (!v[C_PRICE].present)
			c.price = dbres_get(&plan, 0, PLAN_COL_PRICE);
	}
	if (tdb_query(
	        r->tdb, &C[CUSTOMER_UPDATE],
	        DB_ARGS(DBS(c.name), DBS(c.phone), DBS(c.email), DBS(c.address),
	                DBI(c.plan), c.router ? DBI(c.router) : DBNULL('i'),
	                DBS(c.pppoe_user), DBD(c.price), DBI(c.billing_day),
	                DBS(c.installed), DBS(c.notes), DBI(id)),
	        NULL) < 0)
		return write_failed(r);
	if (v[C_PPPOE_PASS].present &&
	    store_password(
	        r, id, v[C_PPPOE_PASS].is_null ? NULL : v[C_PPPOE_PASS].s) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &C[CUSTOMER_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1)
		goto out_fail;
	status = dbres_get(&after, 0, COL_STATUS);
	if (plan_changed &&
	    (strcmp(status, "active") == 0 ||
	     strcmp(status, "suspended") == 0) &&
	    queue_job(r, &after, &plan, "change_profile") < 0)
		goto out_fail;
	if (record(r, "update", "customer:updated", id, &before, &after) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
customers_delete(struct req *r)
{
	const struct stmt_def *C = store_customer_stmts;
	int64_t id = r->ids[0];
	struct dbres before, plan;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &C[CUSTOMER_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	if (tdb_query(r->tdb, &C[CUSTOMER_DELETE], DB_ARGS(DBI(id)), NULL) < 0)
		goto out_fail;
	/* A customer still on a router must not keep its secret there. */
	if (strcmp(dbres_get(&before, 0, COL_STATUS), "terminated") != 0) {
		if (tdb_query(r->tdb, &store_plan_stmts[PLAN_GET],
		              DB_ARGS(DBI(dbres_int(&before, 0, COL_PLAN))),
		              &plan) < 0 ||
		    queue_job(r, &before, &plan, "remove_secret") < 0)
			goto out_fail;
	}
	if (record(r, "delete", "customer:deleted", id, &before, NULL) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_no_content(r);
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

/* The lifecycle actions: where each may start, where it leads. */
static const struct action {
	const char *name;    /* audit action and URL verb */
	const char *from[4]; /* statuses it may start from */
	const char *to;      /* resulting status */
	const char *job;     /* provisioning action */
} actions[] = {
    {"activate", {"pending", "suspended", NULL}, "active", "create_secret"},
    {"suspend", {"active", NULL}, "suspended", "disable_secret"},
    {"terminate",
     {"pending", "active", "suspended", NULL},
     "terminated",
     "remove_secret"},
};

static int
customer_action(struct req *r, const struct action *act)
{
	const struct stmt_def *C = store_customer_stmts;
	int64_t id = r->ids[0];
	struct dbres before, after, plan;
	const char *status;
	int ok = 0;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &C[CUSTOMER_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	status = dbres_get(&before, 0, COL_STATUS);
	for (size_t i = 0; act->from[i]; i++)
		ok |= strcmp(act->from[i], status) == 0;
	if (!ok) {
		tdb_rollback(r->tdb);
		return req_fail(r, 422, "invalid_transition",
		                arena_printf(r->a,
		                             "a %s customer cannot be moved "
		                             "to %s",
		                             status, act->to));
	}
	if (tdb_query(r->tdb, &C[CUSTOMER_SET_STATUS],
	              DB_ARGS(DBS(act->to), DBI(id)), NULL) < 0 ||
	    tdb_query(r->tdb, &C[CUSTOMER_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1 ||
	    tdb_query(r->tdb, &store_plan_stmts[PLAN_GET],
	              DB_ARGS(DBI(dbres_int(&after, 0, COL_PLAN))),
	              &plan) < 0 ||
	    queue_job(r, &after, &plan, act->job) < 0 ||
	    record(r, act->name, "customer:updated", id, &before, &after) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
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
