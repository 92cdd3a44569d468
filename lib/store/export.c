#include "store/export.h"

#include "db.h"

/* clang-format off */
static const struct col customer_cols[] = {
	COL_INT(struct export_customer, id, 0),
	COL_STR(struct export_customer, customer_code, 0),
	COL_STR(struct export_customer, name, 0),
	COL_STR(struct export_customer, phone, 0),
	COL_STR(struct export_customer, email, COL_F_NULL),
	COL_STR(struct export_customer, address, 0),
	COL_STR(struct export_customer, status, 0),
	COL_STR(struct export_customer, plan_name, 0),
	COL_STR(struct export_customer, router_name, COL_F_NULL),
	COL_STR(struct export_customer, pppoe_username, COL_F_NULL),
	COL_DEC(struct export_customer, monthly_price, 0),
	COL_INT(struct export_customer, billing_day, 0),
	COL_DATE(struct export_customer, installed_at, COL_F_NULL),
	COL_TIME(struct export_customer, created_at, 0),
	COL_DEC(struct export_customer, total_paid, 0),
	COL_DEC(struct export_customer, outstanding, 0),
	COL_INT(struct export_customer, days_overdue, 0),
	COL_DATE(struct export_customer, last_payment_date, COL_F_NULL),
	COL_END
};
static const struct rowtype customer_row =
    ROWTYPE(struct export_customer, "export_customer", customer_cols);

static const struct col payment_cols[] = {
	COL_INT(struct export_payment, id, 0),
	COL_STR(struct export_payment, customer_code, 0),
	COL_STR(struct export_payment, customer_name, 0),
	COL_STR(struct export_payment, period, 0),
	COL_DEC(struct export_payment, amount, 0),
	COL_STR(struct export_payment, status, 0),
	COL_DATE(struct export_payment, due_date, 0),
	COL_DATE(struct export_payment, payment_date, COL_F_NULL),
	COL_STR(struct export_payment, method, COL_F_NULL),
	COL_STR(struct export_payment, reference, COL_F_NULL),
	COL_STR(struct export_payment, source, 0),
	COL_INT(struct export_payment, days_overdue, 0),
	COL_TIME(struct export_payment, created_at, 0),
	COL_END
};
static const struct rowtype payment_row =
    ROWTYPE(struct export_payment, "export_payment", payment_cols);

struct export_in {
	const char *status, *today, *from, *to;
};
static const struct col export_in_cols[] = {
	COL_STR(struct export_in, status, COL_F_NULL),
	COL_DATE(struct export_in, today, 0),
	COL_DATE(struct export_in, from, COL_F_NULL),
	COL_DATE(struct export_in, to, COL_F_NULL),
	COL_END
};
static const struct rowtype export_in =
    ROWTYPE(struct export_in, "export_in", export_in_cols);

#define PAYMENT_EXPORT(col) \
	"SELECT p.id, c.customer_code, c.name AS customer_name, p.period," \
	" p.amount, p.status, p.due_date, p.payment_date, p.method," \
	" p.reference, p.source," \
	" IF(p.status IN ('pending', 'overdue') AND p.due_date < :today," \
	" DATEDIFF(:today, p.due_date), 0) AS days_overdue, p.created_at" \
	" FROM payments p JOIN customers c ON c.tenant_id = p.tenant_id" \
	" AND c.id = p.customer_id WHERE p.tenant_id = :tenant" \
	" AND (:from IS NULL OR p." col " >= :from)" \
	" AND (:to IS NULL OR p." col " <= :to)" \
	" ORDER BY p." col ", p.id"

enum { S_CUSTOMERS, S_PAYMENTS_DUE, S_PAYMENTS_PAID };

const struct stmt_def store_export_stmts[] = {
	/*
	 * The payment figures of each customer in one pass over the
	 * tenant's payments (a derived table with its own tenant filter),
	 * joined to the customers by primary key.
	 */
	[S_CUSTOMERS] = { "export_customers", SCOPE_TENANT,
	     "SELECT c.id, c.customer_code, c.name, c.phone, c.email,"
	     " c.address, c.status, sp.name AS plan_name,"
	     " r.name AS router_name, c.pppoe_username, c.monthly_price,"
	     " c.billing_day, c.installed_at, c.created_at,"
	     " COALESCE(a.paid, 0.00) AS total_paid,"
	     " COALESCE(a.owed, 0.00) AS outstanding,"
	     " COALESCE(IF(a.oldest_unpaid < :today,"
	     " DATEDIFF(:today, a.oldest_unpaid), 0), 0) AS days_overdue,"
	     " a.last_paid AS last_payment_date"
	     " FROM customers c"
	     " JOIN service_plans sp ON sp.tenant_id = c.tenant_id"
	     " AND sp.id = c.service_plan_id"
	     " LEFT JOIN routers r ON r.id = c.router_id"
	     " LEFT JOIN (SELECT customer_id,"
	     " SUM(IF(status = 'paid', amount, 0)) AS paid,"
	     " SUM(IF(status IN ('pending', 'overdue'), amount, 0)) AS owed,"
	     " MIN(IF(status IN ('pending', 'overdue'), due_date, NULL))"
	     " AS oldest_unpaid, MAX(payment_date) AS last_paid"
	     " FROM payments WHERE tenant_id = :tenant GROUP BY customer_id) a"
	     " ON a.customer_id = c.id"
	     " WHERE c.tenant_id = :tenant AND c.deleted_at IS NULL"
	     " AND (:status IS NULL OR c.status = :status)"
	     " ORDER BY c.customer_code", &export_in, &customer_row, NULL },
	[S_PAYMENTS_DUE] = { "export_payments_due", SCOPE_TENANT,
	     PAYMENT_EXPORT("due_date"), &export_in, &payment_row, NULL },
	[S_PAYMENTS_PAID] = { "export_payments_paid", SCOPE_TENANT,
	     PAYMENT_EXPORT("payment_date"), &export_in, &payment_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

/* tdb_each() hands rows as const void *: the typed callbacks adapt. */
struct each_customer {
	int (*fn)(void *ctx, const struct export_customer *c);
	void *ctx;
};

static int
each_customer(void *ctx, const void *row)
{
	struct each_customer *e = ctx;

	return e->fn(e->ctx, row);
}

int
store_export_customers(struct tdb *t, const char *status, const char *today,
                       int (*fn)(void *ctx, const struct export_customer *c),
                       void *ctx)
{
	struct export_in in = {.status = status, .today = today};
	struct each_customer e = {fn, ctx};

	return tdb_each(t, &store_export_stmts[S_CUSTOMERS], &in, each_customer,
	                &e);
}

struct each_payment {
	int (*fn)(void *ctx, const struct export_payment *p);
	void *ctx;
};

static int
each_payment(void *ctx, const void *row)
{
	struct each_payment *e = ctx;

	return e->fn(e->ctx, row);
}

int
store_export_payments(struct tdb *t, const char *from, const char *to,
                      int by_payment_date, const char *today,
                      int (*fn)(void *ctx, const struct export_payment *p),
                      void *ctx)
{
	struct export_in in = {.from = from, .to = to, .today = today};
	struct each_payment e = {fn, ctx};

	return tdb_each(t,
	                &store_export_stmts[by_payment_date ? S_PAYMENTS_PAID
	                                                    : S_PAYMENTS_DUE],
	                &in, each_payment, &e);
}
