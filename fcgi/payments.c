/*
 * Payments: invoices (from rtrw-billing invoices) and payments recorded by
 * hand.  Amounts stay decimal literals from the JSON body to the DECIMAL
 * column and back (lib/fields.h FT_MONEY, lib/money.h).
 *
 * A payment belongs to a period ("YYYY-MM", default: the current month in
 * the tenant's time zone) and falls due on the customer's billing_day of
 * that month (lib/billing.h).  Created with a payment_date it is paid;
 * without, pending.  There is no DELETE: a payment made in error is
 * cancelled, so the books keep it.
 *
 * Status moves:
 *	pending   -> pending, paid, overdue, cancelled
 *	overdue   -> overdue, paid, cancelled
 *	paid      -> paid, cancelled
 *	cancelled -> (none)
 * anything else is 422 invalid_transition.  Moving to paid records
 * payment_date (today in the tenant's time zone unless given); giving a
 * payment_date alone means paid.  Payments of a deleted customer stay
 * listed; new ones cannot be created for it.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "audit.h"
#include "billing.h"
#include "db.h"
#include "events.h"
#include "fields.h"
#include "json.h"
#include "store/store.h"

static const char *const payment_statuses[] = {"pending", "paid", "overdue",
                                               "cancelled", NULL};
static const char *const date_fields[] = {"due_date", "payment_date", NULL};

/* clang-format off */
const struct field payment_create_fields[] = {
	{ "customer_id",  FT_ID,     0, 0,    F_REQUIRED, NULL },
	{ "amount",       FT_MONEY,  0, 0,    F_REQUIRED, NULL },
	{ "period",       FT_STRING, 7, 7,    0, NULL },
	{ "payment_date", FT_DATE,   0, 0,    F_NULLABLE, NULL },
	{ "method",       FT_STRING, 1, 32,   F_NULLABLE | F_TEXT, NULL },
	{ "reference",    FT_STRING, 1, 100,  F_NULLABLE | F_TEXT, NULL },
	{ "notes",        FT_STRING, 0, 2000, F_NULLABLE | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { N_CUSTOMER, N_AMOUNT, N_PERIOD, N_PAID, N_METHOD, N_REF, N_NOTES };

const struct field payment_update_fields[] = {
	{ "amount",       FT_MONEY,  0, 0,    0, NULL },
	{ "status",       FT_ENUM,   0, 0,    0, payment_statuses },
	{ "payment_date", FT_DATE,   0, 0,    F_NULLABLE, NULL },
	{ "method",       FT_STRING, 1, 32,   F_NULLABLE | F_TEXT, NULL },
	{ "reference",    FT_STRING, 1, 100,  F_NULLABLE | F_TEXT, NULL },
	{ "notes",        FT_STRING, 0, 2000, F_NULLABLE | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { U_AMOUNT, U_STATUS, U_PAID, U_METHOD, U_REF, U_NOTES };

/* Which status may follow which (rows: from, columns: to). */
static const struct {
	const char *from;
	const char *to[5];
} payment_moves[] = {
	{ "pending",   { "pending", "paid", "overdue", "cancelled", NULL } },
	{ "overdue",   { "overdue", "paid", "cancelled", NULL } },
	{ "paid",      { "paid", "cancelled", NULL } },
	{ "cancelled", { NULL } },
};
/* clang-format on */

/* Columns of PAYMENT_COLS (lib/store/payment.c). */
enum {
	COL_ID,
	COL_CUSTOMER,
	COL_AMOUNT,
	COL_STATUS,
	COL_PERIOD,
	COL_DUE,
	COL_PAID,
	COL_METHOD,
	COL_REF,
	COL_NOTES,
};

static const char *const payment_sorts[] = {
    "-due_date", "due_date",    "-payment_date", "payment_date", "-amount",
    "amount",    "-created_at", "created_at",    "id",           NULL,
};

#define CUSTOMER_COL_BILLING_DAY 11

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "payment not found");
}

/* Today in the caller's tenant's time zone. */
static int
tenant_today(struct req *r, char out[BILLING_DATE_LEN])
{
	int col = r->who_row ? dbres_col(r->who_row, "tenant_timezone") : -1;

	return billing_today(col >= 0 ? dbres_get(r->who_row, 0, (size_t)col)
	                              : NULL,
	                     time(NULL), out);
}

static int
record(struct req *r, const char *action, const char *event, int64_t id,
       const struct dbres *before, const struct dbres *after)
{
	cJSON *old = NULL, *new;

	if (before)
		old = json_own(r->a, dbres_row_json(before, 0, NULL));
	new = json_own(r->a, dbres_row_json(after, 0, NULL));
	if (audit_req(r, action, "payment", id, old, new) < 0)
		return -1;
	return event_emit(r->tdb, event, "payment", id, new);
}

int
payments_list(struct req *r)
{
	const struct stmt_def *P = store_payment_stmts;
	int64_t page, per_page, customer;
	const char *status, *from, *to, *field;
	struct dbres rows, count;
	size_t sort;
	int by_paid;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, payment_sorts, &sort) < 0 ||
	    req_param_id(r, "customer_id", &customer) < 0 ||
	    req_param_enum(r, "status", payment_statuses, &status) < 0 ||
	    req_param_date(r, "from", &from) < 0 ||
	    req_param_date(r, "to", &to) < 0 ||
	    req_param_enum(r, "date_field", date_fields, &field) < 0)
		return -1;
	by_paid = field && strcmp(field, "payment_date") == 0;
	if (tdb_query_order(
	        r->tdb, &P[by_paid ? PAYMENT_LIST_PAID : PAYMENT_LIST_DUE],
	        sort,
	        DB_ARGS(DBI(customer), DBI(customer), DBS(status), DBS(status),
	                DBS(from), DBS(from), DBS(to), DBS(to), DBI(per_page),
	                DBI((page - 1) * per_page)),
	        &rows) < 0 ||
	    tdb_query(
	        r->tdb, &P[by_paid ? PAYMENT_COUNT_PAID : PAYMENT_COUNT_DUE],
	        DB_ARGS(DBI(customer), DBI(customer), DBS(status), DBS(status),
	                DBS(from), DBS(from), DBS(to), DBS(to)),
	        &count) < 0)
		return -1;
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
payments_get(struct req *r)
{
	return req_get_one(r, &store_payment_stmts[PAYMENT_GET], NULL,
	                   "payment not found");
}

int
payments_create(struct req *r)
{
	const struct stmt_def *P = store_payment_stmts;
	const struct fval *v = r->vals;
	char today[BILLING_DATE_LEN], period[BILLING_PERIOD_LEN];
	char due[BILLING_DATE_LEN];
	const char *paid = NULL;
	struct dbres cust, ins, after;
	int y, m;
	int64_t id;

	if (v[N_PERIOD].present) {
		if (billing_period_parse(v[N_PERIOD].s, &y, &m) < 0)
			return req_invalid(r, "period",
			                   "must be a month YYYY-MM");
		snprintf(period, sizeof(period), "%s", v[N_PERIOD].s);
	} else if (tenant_today(r, today) < 0 ||
	           billing_period_of(today, period) < 0) {
		return -1;
	}
	if (v[N_PAID].present && !v[N_PAID].is_null)
		paid = v[N_PAID].s;
	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Locks the customer so that a concurrent delete waits for us. */
	if (tdb_query(r->tdb, &store_customer_stmts[CUSTOMER_GET_LOCKED],
	              DB_ARGS(DBI(v[N_CUSTOMER].i)), &cust) < 0)
		goto out_fail;
	if (cust.nrows != 1) {
		tdb_rollback(r->tdb);
		return req_invalid(r, "customer_id",
		                   "must be a customer of this tenant");
	}
	if (billing_due_date(period,
	                     (int)dbres_int(&cust, 0, CUSTOMER_COL_BILLING_DAY),
	                     due) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &P[PAYMENT_INSERT],
	              DB_ARGS(DBI(v[N_CUSTOMER].i), DBD(v[N_AMOUNT].s),
	                      DBS(paid ? "paid" : "pending"), DBS(period),
	                      DBS(due), DBS(paid),
	                      DBS(v[N_METHOD].present ? v[N_METHOD].s : NULL),
	                      DBS(v[N_REF].present ? v[N_REF].s : NULL),
	                      DBS(v[N_NOTES].present ? v[N_NOTES].s : NULL)),
	              &ins) < 0)
		goto out_fail;
	id = (int64_t)ins.insert_id;
	if (tdb_query(r->tdb, &P[PAYMENT_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1 ||
	    record(r, "create", "payment:created", id, NULL, &after) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

/* Whether a payment may move from status from to status to. */
static int
move_ok(const char *from, const char *to)
{
	for (size_t i = 0; i < sizeof(payment_moves) / sizeof(payment_moves[0]);
	     i++) {
		if (strcmp(payment_moves[i].from, from) != 0)
			continue;
		for (size_t j = 0; payment_moves[i].to[j]; j++)
			if (strcmp(payment_moves[i].to[j], to) == 0)
				return 1;
	}
	return 0;
}

int
payments_update(struct req *r)
{
	const struct stmt_def *P = store_payment_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct dbres before, after;
	const char *from, *to, *paid, *amount, *method, *ref, *notes;
	char today[BILLING_DATE_LEN];

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &P[PAYMENT_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	from = dbres_get(&before, 0, COL_STATUS);
	to = v[U_STATUS].present ? v[U_STATUS].s : from;
	/* A payment date alone says the payment was made. */
	if (!v[U_STATUS].present && v[U_PAID].present && !v[U_PAID].is_null)
		to = "paid";
	if (!move_ok(from, to)) {
		tdb_rollback(r->tdb);
		return req_fail(r, 422, "invalid_transition",
		                arena_printf(r->a,
		                             "a %s payment cannot become %s",
		                             from, to));
	}
	paid = dbres_get(&before, 0, COL_PAID);
	if (v[U_PAID].present)
		paid = v[U_PAID].is_null ? NULL : v[U_PAID].s;
	if (strcmp(to, "paid") == 0 && !paid) {
		if (tenant_today(r, today) < 0)
			goto out_fail;
		paid = today;
	}
	if (strcmp(to, "paid") != 0 && v[U_PAID].present &&
	    !v[U_PAID].is_null) {
		tdb_rollback(r->tdb);
		return req_invalid(r, "payment_date",
		                   "may only be given for a paid payment");
	}
	/* Back to unpaid states means no payment date. */
	if (strcmp(to, "pending") == 0 || strcmp(to, "overdue") == 0)
		paid = NULL;
	amount = v[U_AMOUNT].present ? v[U_AMOUNT].s
	                             : dbres_get(&before, 0, COL_AMOUNT);
#define KEEP(f, col)                                                           \
	(v[f].present ? (v[f].is_null ? NULL : v[f].s)                         \
	              : dbres_get(&before, 0, col))
	method = KEEP(U_METHOD, COL_METHOD);
	ref = KEEP(U_REF, COL_REF);
	notes = KEEP(U_NOTES, COL_NOTES);
#undef KEEP
	if (tdb_query(r->tdb, &P[PAYMENT_UPDATE],
	              DB_ARGS(DBD(amount), DBS(to), DBS(paid), DBS(method),
	                      DBS(ref), DBS(notes), DBI(id)),
	              NULL) < 0 ||
	    tdb_query(r->tdb, &P[PAYMENT_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1 ||
	    record(r, "update", "payment:updated", id, &before, &after) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}
