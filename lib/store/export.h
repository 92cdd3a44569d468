/*
 * The rows of the tenant's exports (GET /exports/customers and
 * /exports/payments), streamed one at a time (tdb_each()) so that an
 * export of 100,000 rows never sits in memory.  Computed columns (plan
 * name, amounts owed and paid, days overdue) come from the database in
 * the same statement.
 */
#ifndef RTRW_STORE_EXPORT_H
#define RTRW_STORE_EXPORT_H

#include <stdint.h>

#include "tdb.h"

/* One customer of the customer export. */
struct export_customer {
	int64_t id;
	const char *customer_code, *name, *phone, *email, *address, *status;
	const char *plan_name, *router_name, *pppoe_username, *monthly_price;
	int64_t billing_day;
	const char *installed_at, *created_at;
	const char *total_paid, *outstanding; /* decimals, 0.00 when none */
	int64_t days_overdue;                 /* of the oldest unpaid, 0 none */
	const char *last_payment_date;
};

/*
 * Streams the tenant's live customers (status NULL: all) in code order
 * into fn; today (YYYY-MM-DD, the tenant's date) dates days_overdue.
 * fn returns 0 to go on, -1 to stop.  0 or -1.
 */
int store_export_customers(struct tdb *t, const char *status, const char *today,
                           int (*fn)(void *ctx,
                                     const struct export_customer *c),
                           void *ctx);

/* One payment of the payment export. */
struct export_payment {
	int64_t id;
	const char *customer_code, *customer_name, *period, *amount, *status;
	const char *due_date, *payment_date, *method, *reference, *source;
	int64_t days_overdue; /* unpaid and past due: days since due_date */
	const char *created_at;
};

/*
 * Streams the tenant's payments whose due_date (or payment_date when
 * by_payment_date) lies in from..to (NULL: open) in date order into fn.
 * 0 or -1.
 */
int store_export_payments(struct tdb *t, const char *from, const char *to,
                          int by_payment_date, const char *today,
                          int (*fn)(void *ctx, const struct export_payment *p),
                          void *ctx);

#endif
