/*
 * Payments, and the statements of the billing jobs (jobs/billing.c).
 *
 * Invoices written by the job carry source = 'invoice'; the generated
 * column invoice_customer_id is the customer id only for those, and the
 * unique key (tenant_id, invoice_customer_id, period) makes a second
 * invoice for the same customer and period impossible, whoever runs the
 * job and how often.  Manual payments (source = 'manual') are not
 * limited: a customer may pay in parts.
 */
#ifndef RTRW_STORE_PAYMENT_H
#define RTRW_STORE_PAYMENT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct payment {
	int64_t id, customer_id;
	const char *amount, *status, *period, *due_date, *payment_date;
	const char *method, *reference, *notes, *source;
	const char *created_at, *updated_at;
};
extern const struct rowtype payment_row;

/*
 * Filters of GET /payments: customer (0: any), status, and an inclusive
 * date range on due_date, or on payment_date when by_payment_date.
 */
struct payment_filter {
	int64_t customer_id;
	const char *status, *from, *to;
	int by_payment_date;
};
extern const struct store_list store_payment_list;

int store_payment_get(struct tdb *t, int64_t id, struct payment *out);
int store_payment_lock(struct tdb *t, int64_t id, struct payment *out);

/* Inserts p (id, source and times are the database's); 0 or -1. */
int store_payment_insert(struct tdb *t, const struct payment *p, int64_t *id);

/* Writes amount, status, payment_date, method, reference, notes. */
int store_payment_update(struct tdb *t, const struct payment *p);

/*
 * Writes one pending invoice per active customer for period (YYYY-MM,
 * first day first_day), due on the customer's billing day clamped to
 * the month's mdays, in the caller's transaction.  fn (may be NULL) is
 * called with each invoice this call created, as it is stored, never for
 * one that existed or that a concurrent run wrote (the job emits its
 * payment:created event there); fn returning -1 stops the run.  Stores
 * the number created; 0 or -1.
 */
int store_payment_invoice_run(struct tdb *t, const char *period,
                              const char *first_day, int64_t mdays,
                              int (*fn)(void *ctx, struct tdb *t,
                                        const struct payment *p),
                              void *ctx, int64_t *created);

/* A pending payment past due, as the overdue job picks it. */
struct payment_due {
	int64_t id, customer_id;
	const char *amount, *period, *due_date;
};

/*
 * Locks up to limit pending payments due before today, skipping rows
 * another run holds (concurrent runs share the work); 0 or -1.
 */
int store_payment_overdue_pick(struct tdb *t, const char *today, int64_t limit,
                               struct rows *out);

/* Marks payment id overdue if it is still pending: 1, 0 or -1. */
int store_payment_overdue_mark(struct tdb *t, int64_t id);

/* An active tenant and its time zone, for the billing jobs. */
struct billing_tenant {
	int64_t id;
	const char *timezone;
};

/* The active tenants (only tenant_id when it is not 0); 0 or -1. */
int store_billing_tenants(struct db *db, struct arena *a, int64_t tenant_id,
                          struct rows *out);

/* Paid amounts of this month and last (dashboard); 0 or -1. */
int store_payment_revenue(struct tdb *t, const char *month_first,
                          const char *prev_first, const char *next_first,
                          const char **current, const char **previous);

#endif
