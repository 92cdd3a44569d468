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
#include "billing.h"
#include "fields.h"
#include "reply.h"
#include "store/customer.h"
#include "store/payment.h"
#include "store/user.h"

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
enum {
	PAYMENT_F_CUSTOMER,
	PAYMENT_F_AMOUNT,
	PAYMENT_F_PERIOD,
	PAYMENT_F_PAID,
	PAYMENT_F_METHOD,
	PAYMENT_F_REF,
	PAYMENT_F_NOTES,
};

const struct field payment_update_fields[] = {
	{ "amount",       FT_MONEY,  0, 0,    0, NULL },
	{ "status",       FT_ENUM,   0, 0,    0, payment_statuses },
	{ "payment_date", FT_DATE,   0, 0,    F_NULLABLE, NULL },
	{ "method",       FT_STRING, 1, 32,   F_NULLABLE | F_TEXT, NULL },
	{ "reference",    FT_STRING, 1, 100,  F_NULLABLE | F_TEXT, NULL },
	{ "notes",        FT_STRING, 0, 2000, F_NULLABLE | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	PAYMENT_U_AMOUNT,
	PAYMENT_U_STATUS,
	PAYMENT_U_PAID,
	PAYMENT_U_METHOD,
	PAYMENT_U_REF,
	PAYMENT_U_NOTES,
};

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

/* clang-format off */
static const struct filter_def payment_filters[] = {
	FILTER_ID_(struct payment_filter, customer_id,
	           "only this customer's payments"),
	FILTER_ENUM_(struct payment_filter, status, payment_statuses,
	             "only payments with this status"),
	FILTER_DATE_(struct payment_filter, from,
	             "first day of the range (inclusive)"),
	FILTER_DATE_(struct payment_filter, to,
	             "last day of the range (inclusive)"),
	FILTER_NAMED_INDEX_(struct payment_filter, by_payment_date,
	                    "date_field", date_fields,
	                    "the date the range filters: due_date (default) "
	                    "or payment_date"),
	FILTER_END
};
/* clang-format on */

const struct list_spec payment_list_spec = {
    .store = &store_payment_list,
    .filters = payment_filters,
};

/* Today in the caller's tenant's time zone. */
static int
tenant_today(struct req *r, char out[BILLING_DATE_LEN])
{
	return billing_today(r->who_row ? r->who_row->tenant_timezone : NULL,
	                     time(NULL), out);
}

int
payments_list(struct req *r)
{
	return reply_list(r, &payment_list_spec);
}

int
payments_get(struct req *r)
{
	struct payment p;

	if (req_found(r, store_payment_get(r->tdb, r->ids[0], &p), "payment") <
	    0)
		return -1;
	return reply_row(r, 200, &payment_row, &p);
}

int
payments_create(struct req *r)
{
	const struct fval *v = r->vals;
	char today[BILLING_DATE_LEN], period[BILLING_PERIOD_LEN];
	char due[BILLING_DATE_LEN];
	struct payment p = {0}, after;
	struct customer cust;
	int y, m, rc;
	int64_t id;

	if (v[PAYMENT_F_PERIOD].present) {
		if (billing_period_parse(v[PAYMENT_F_PERIOD].s, &y, &m) < 0)
			return req_invalid(r, "period",
			                   "must be a month YYYY-MM");
		snprintf(period, sizeof(period), "%s", v[PAYMENT_F_PERIOD].s);
	} else if (tenant_today(r, today) < 0 ||
	           billing_period_of(today, period) < 0) {
		return -1;
	}
	if (tdb_begin(r->tdb) < 0)
		return -1;
	/* Locks the customer so that a concurrent delete waits for us. */
	rc = store_customer_lock(r->tdb, v[PAYMENT_F_CUSTOMER].i, &cust);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return req_invalid(r, "customer_id",
		                   "must be a customer of this tenant");
	if (billing_due_date(period, (int)cust.billing_day, due) < 0)
		return -1;
	p.customer_id = cust.id;
	p.amount = v[PAYMENT_F_AMOUNT].s;
	p.payment_date = fval_str(&v[PAYMENT_F_PAID]);
	p.status = p.payment_date ? "paid" : "pending";
	p.period = period;
	p.due_date = due;
	p.method = fval_str(&v[PAYMENT_F_METHOD]);
	p.reference = fval_str(&v[PAYMENT_F_REF]);
	p.notes = fval_str(&v[PAYMENT_F_NOTES]);
	if (store_payment_insert(r->tdb, &p, &id) < 0 ||
	    store_payment_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "payment", id, &payment_row, NULL, &after,
	               "payment:created") < 0)
		return -1;
	return reply_commit(r, 201, &payment_row, &after);
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
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct payment before, p, after;
	char today[BILLING_DATE_LEN];
	const char *to;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_payment_lock(r->tdb, id, &before), "payment") <
	        0)
		return -1;
	p = before;
	to =
	    v[PAYMENT_U_STATUS].present ? v[PAYMENT_U_STATUS].s : before.status;
	/* A payment date alone says the payment was made. */
	if (!v[PAYMENT_U_STATUS].present && fval_str(&v[PAYMENT_U_PAID]))
		to = "paid";
	if (!move_ok(before.status, to))
		return req_fail(r, 422, "invalid_transition",
		                arena_printf(r->a,
		                             "a %s payment cannot become %s",
		                             before.status, to));
	if (v[PAYMENT_U_PAID].present)
		p.payment_date = fval_str(&v[PAYMENT_U_PAID]);
	if (strcmp(to, "paid") == 0 && !p.payment_date) {
		if (tenant_today(r, today) < 0)
			return -1;
		p.payment_date = today;
	}
	if (strcmp(to, "paid") != 0 && fval_str(&v[PAYMENT_U_PAID]))
		return req_invalid(r, "payment_date",
		                   "may only be given for a paid payment");
	/* Back to unpaid states means no payment date. */
	if (strcmp(to, "pending") == 0 || strcmp(to, "overdue") == 0)
		p.payment_date = NULL;
	p.status = to;
	if (v[PAYMENT_U_AMOUNT].present)
		p.amount = v[PAYMENT_U_AMOUNT].s;
	if (v[PAYMENT_U_METHOD].present)
		p.method = fval_str(&v[PAYMENT_U_METHOD]);
	if (v[PAYMENT_U_REF].present)
		p.reference = fval_str(&v[PAYMENT_U_REF]);
	if (v[PAYMENT_U_NOTES].present)
		p.notes = fval_str(&v[PAYMENT_U_NOTES]);
	if (store_payment_update(r->tdb, &p) < 0 ||
	    store_payment_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "update", "payment", id, &payment_row, &before,
	               &after, "payment:updated") < 0)
		return -1;
	return reply_commit(r, 200, &payment_row, &after);
}
