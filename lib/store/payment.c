#include "store/payment.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col payment_cols[] = {
	COL_INT(struct payment, id, 0),
	COL_INT(struct payment, customer_id, 0),
	COL_DEC(struct payment, amount, 0),
	COL_STR(struct payment, status, 0),
	COL_STR(struct payment, period, 0),
	COL_DATE(struct payment, due_date, 0),
	COL_DATE(struct payment, payment_date, COL_F_NULL),
	COL_STR(struct payment, method, COL_F_NULL),
	COL_STR(struct payment, reference, COL_F_NULL),
	COL_STR(struct payment, notes, COL_F_NULL),
	COL_STR(struct payment, source, 0),
	COL_TIME(struct payment, created_at, 0),
	COL_TIME(struct payment, updated_at, 0),
	COL_END
};
const struct rowtype payment_row =
    ROWTYPE(struct payment, "payment", payment_cols);

static const struct col payment_filter_cols[] = {
	COL_INT(struct payment_filter, customer_id, COL_F_NULL),
	COL_STR(struct payment_filter, status, COL_F_NULL),
	COL_DATE(struct payment_filter, from, COL_F_NULL),
	COL_DATE(struct payment_filter, to, COL_F_NULL),
	COL_END
};
static const struct rowtype payment_filter_in =
    ROWTYPE(struct payment_filter, "payment_filter", payment_filter_cols);

static const struct col payment_due_cols[] = {
	COL_INT(struct payment_due, id, 0),
	COL_INT(struct payment_due, customer_id, 0),
	COL_DEC(struct payment_due, amount, 0),
	COL_STR(struct payment_due, period, 0),
	COL_DATE(struct payment_due, due_date, 0),
	COL_END
};
static const struct rowtype payment_due_row =
    ROWTYPE(struct payment_due, "payment_due", payment_due_cols);

static const struct col billing_tenant_cols[] = {
	COL_INT(struct billing_tenant, id, 0),
	COL_STR(struct billing_tenant, timezone, 0),
	COL_END
};
static const struct rowtype billing_tenant_row =
    ROWTYPE(struct billing_tenant, "billing_tenant", billing_tenant_cols);

/* What the jobs' and the dashboard's statements bind. */
struct billing_in {
	int64_t id, batch, mdays, customer_id, billing_day;
	const char *period, *first_day, *today, *month_first, *prev_first;
	const char *next_first, *amount;
};
static const struct col billing_in_cols[] = {
	COL_INT(struct billing_in, id, COL_F_NULL),
	COL_INT(struct billing_in, customer_id, COL_F_NULL),
	COL_INT(struct billing_in, billing_day, COL_F_NULL),
	COL_DEC(struct billing_in, amount, COL_F_NULL),
	COL_INT(struct billing_in, batch, 0),
	COL_INT(struct billing_in, mdays, 0),
	COL_STR(struct billing_in, period, 0),
	COL_DATE(struct billing_in, first_day, 0),
	COL_DATE(struct billing_in, today, 0),
	COL_DATE(struct billing_in, month_first, 0),
	COL_DATE(struct billing_in, prev_first, 0),
	COL_DATE(struct billing_in, next_first, 0),
	COL_END
};
static const struct rowtype billing_in =
    ROWTYPE(struct billing_in, "billing_in", billing_in_cols);

/* An active customer without an invoice for the period. */
struct invoice_candidate {
	int64_t id;
	const char *monthly_price;
	int64_t billing_day;
};
static const struct col invoice_candidate_cols[] = {
	COL_INT(struct invoice_candidate, id, 0),
	COL_DEC(struct invoice_candidate, monthly_price, 0),
	COL_INT(struct invoice_candidate, billing_day, 0),
	COL_END
};
static const struct rowtype invoice_candidate_row = ROWTYPE(
    struct invoice_candidate, "invoice_candidate", invoice_candidate_cols);

struct revenue {
	const char *current_month, *previous_month;
};
static const struct col revenue_cols[] = {
	COL_DEC(struct revenue, current_month, 0),
	COL_DEC(struct revenue, previous_month, 0),
	COL_END
};
static const struct rowtype revenue_row =
    ROWTYPE(struct revenue, "revenue", revenue_cols);

static const struct sort_def payment_sorts[] = {
	{ "-due_date", "due_date DESC, id DESC" },
	{ "due_date", "due_date ASC, id ASC" },
	{ "-payment_date", "payment_date DESC, id DESC" },
	{ "payment_date", "payment_date ASC, id ASC" },
	{ "-amount", "amount DESC, id DESC" },
	{ "amount", "amount ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "id", "id ASC" },
	{ NULL, NULL }
};

/* Filters: customer, status and a date range on the column named. */
#define PAYMENT_FILTER(col) \
	" WHERE tenant_id = :tenant" \
	" AND (:customer_id IS NULL OR customer_id = :customer_id)" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:from IS NULL OR " col " >= :from)" \
	" AND (:to IS NULL OR " col " <= :to)"

enum {
	S_GET, S_LOCK, S_LIST_DUE, S_COUNT_DUE, S_LIST_PAID, S_COUNT_PAID,
	S_INSERT, S_UPDATE, S_INVOICE_CANDIDATES, S_INVOICE_INSERT,
	S_OVERDUE_PICK, S_OVERDUE_MARK,
	S_TENANTS, S_REVENUE,
};

const struct stmt_def store_payment_stmts[] = {
	[S_GET] = { "payment_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM payments WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &payment_row, NULL },
	[S_LOCK] = { "payment_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM payments WHERE tenant_id = :tenant AND id = :id"
	     " FOR UPDATE", &db_id_in, &payment_row, NULL },
	[S_LIST_DUE] = { "payment_list_due", SCOPE_TENANT,
	     "SELECT {COLS} FROM payments" PAYMENT_FILTER("due_date")
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &payment_filter_in, &payment_row, payment_sorts },
	[S_COUNT_DUE] = { "payment_count_due", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM payments" PAYMENT_FILTER("due_date"),
	     &payment_filter_in, &db_count_row, NULL },
	[S_LIST_PAID] = { "payment_list_paid", SCOPE_TENANT,
	     "SELECT {COLS} FROM payments" PAYMENT_FILTER("payment_date")
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &payment_filter_in, &payment_row, payment_sorts },
	[S_COUNT_PAID] = { "payment_count_paid", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM payments" PAYMENT_FILTER("payment_date"),
	     &payment_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "payment_insert", SCOPE_TENANT,
	     "INSERT INTO payments (tenant_id, customer_id, amount, status,"
	     " period, due_date, payment_date, method, reference, notes)"
	     " VALUES (:tenant, :customer_id, :amount, :status, :period,"
	     " :due_date, :payment_date, :method, :reference, :notes)",
	     &payment_row, NULL, NULL },
	[S_UPDATE] = { "payment_update", SCOPE_TENANT,
	     "UPDATE payments SET amount = :amount, status = :status,"
	     " payment_date = :payment_date, method = :method,"
	     " reference = :reference, notes = :notes"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &payment_row, NULL, NULL },
	/*
	 * One pending invoice per active customer for a period, due on the
	 * customer's billing day (clamped to the month's length, see
	 * lib/billing.h), written customer by customer so that the job
	 * knows which invoices it created (each gets its payment:created
	 * event).  The candidates are a plain read; IGNORE on the unique
	 * key then decides, also when another run inserts the same
	 * invoice at the same moment (it waits for that run's row and
	 * writes nothing).
	 */
	[S_INVOICE_CANDIDATES] = { "payment_invoice_candidates", SCOPE_TENANT,
	     "SELECT c.id, c.monthly_price, c.billing_day FROM customers c"
	     " WHERE c.tenant_id = :tenant AND c.status = 'active'"
	     " AND c.deleted_at IS NULL AND NOT EXISTS (SELECT 1"
	     " FROM payments p WHERE p.tenant_id = :tenant"
	     " AND p.invoice_customer_id = c.id AND p.period = :period)"
	     " ORDER BY c.id", &billing_in, &invoice_candidate_row, NULL },
	[S_INVOICE_INSERT] = { "payment_invoice_insert", SCOPE_TENANT,
	     "INSERT IGNORE INTO payments (tenant_id, customer_id, amount,"
	     " status, period, due_date, source)"
	     " VALUES (:tenant, :customer_id, :amount, 'pending', :period,"
	     " DATE_ADD(:first_day, INTERVAL LEAST(:billing_day, :mdays) - 1"
	     " DAY), 'invoice')", &billing_in, NULL, NULL },
	[S_OVERDUE_PICK] = { "payment_overdue_pick", SCOPE_TENANT,
	     "SELECT id, customer_id, amount, period, due_date FROM payments"
	     " WHERE tenant_id = :tenant AND status = 'pending'"
	     " AND due_date < :today ORDER BY id LIMIT :batch"
	     " FOR UPDATE SKIP LOCKED", &billing_in, &payment_due_row, NULL },
	[S_OVERDUE_MARK] = { "payment_overdue_mark", SCOPE_TENANT,
	     "UPDATE payments SET status = 'overdue'"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'pending'",
	     &db_id_in, NULL, NULL },
	/* Active tenants (or just one with a non-zero id) and their zones. */
	[S_TENANTS] = { "billing_tenants", SCOPE_GLOBAL,
	     "SELECT id, timezone FROM tenants WHERE status = 'active'"
	     " AND (:id IS NULL OR id = :id) ORDER BY id",
	     &billing_in, &billing_tenant_row, NULL },
	/*
	 * payment_months holds the paid amounts per month of payment_date
	 * (kept by triggers, sql/mysql/0006): two primary-key reads.
	 */
	[S_REVENUE] = { "payment_revenue", SCOPE_TENANT,
	     "SELECT COALESCE(SUM(CASE WHEN month >= :month_first"
	     " THEN paid_amount END), 0.00) AS current_month,"
	     " COALESCE(SUM(CASE WHEN month < :month_first THEN paid_amount"
	     " END), 0.00) AS previous_month FROM payment_months"
	     " WHERE tenant_id = :tenant AND month >= :prev_first"
	     " AND month < :next_first", &billing_in, &revenue_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_payment_stmts;

static int
payment_fetch(struct tdb *t, const struct store_list *l, const void *filter,
              size_t sort, int64_t limit, int64_t offset, struct rows *out,
              int64_t *total)
{
	const struct payment_filter *f = filter;
	struct store_list by = *l;

	/* The same list on the other date column. */
	by.fetch = NULL;
	by.page = &S[f->by_payment_date ? S_LIST_PAID : S_LIST_DUE];
	by.count = &S[f->by_payment_date ? S_COUNT_PAID : S_COUNT_DUE];
	return store_list_fetch(t, &by, filter, sort, limit, offset, out,
	                        total);
}

const struct store_list store_payment_list = {
    .row = &payment_row,
    .filter_size = sizeof(struct payment_filter),
    .sorts = payment_sorts,
    .fetch = payment_fetch,
};

int
store_payment_get(struct tdb *t, int64_t id, struct payment *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_payment_lock(struct tdb *t, int64_t id, struct payment *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_payment_insert(struct tdb *t, const struct payment *p, int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], p, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_payment_update(struct tdb *t, const struct payment *p)
{
	return tdb_exec(t, &S[S_UPDATE], p, NULL);
}

int
store_payment_invoice_run(struct tdb *t, const char *period,
                          const char *first_day, int64_t mdays,
                          int (*fn)(void *ctx, struct tdb *t,
                                    const struct payment *p),
                          void *ctx, int64_t *created)
{
	struct billing_in in = {
	    .period = period, .first_day = first_day, .mdays = mdays};
	struct rows cands, res;
	struct payment p;

	*created = 0;
	if (tdb_exec(t, &S[S_INVOICE_CANDIDATES], &in, &cands) < 0)
		return -1;
	for (size_t i = 0; i < cands.n; i++) {
		const struct invoice_candidate *c = rows_at(&cands, i);

		in.customer_id = c->id;
		in.amount = c->monthly_price;
		in.billing_day = c->billing_day;
		if (tdb_exec(t, &S[S_INVOICE_INSERT], &in, &res) < 0)
			return -1;
		if (res.affected != 1)
			continue; /* another run wrote it meanwhile */
		(*created)++;
		if (fn &&
		    (store_payment_get(t, (int64_t)res.insert_id, &p) != 1 ||
		     fn(ctx, t, &p) < 0))
			return -1;
	}
	return 0;
}

int
store_payment_overdue_pick(struct tdb *t, const char *today, int64_t limit,
                           struct rows *out)
{
	struct billing_in in = {.today = today, .batch = limit};

	return tdb_exec(t, &S[S_OVERDUE_PICK], &in, out);
}

int
store_payment_overdue_mark(struct tdb *t, int64_t id)
{
	struct db_id in = {id};
	struct rows res;

	if (tdb_exec(t, &S[S_OVERDUE_MARK], &in, &res) < 0)
		return -1;
	return res.affected == 1;
}

int
store_billing_tenants(struct db *db, struct arena *a, int64_t tenant_id,
                      struct rows *out)
{
	struct billing_in in = {.id = tenant_id};

	return db_exec(db, a, &S[S_TENANTS], &in, out);
}

int
store_payment_revenue(struct tdb *t, const char *month_first,
                      const char *prev_first, const char *next_first,
                      const char **current, const char **previous)
{
	struct billing_in in = {.month_first = month_first,
	                        .prev_first = prev_first,
	                        .next_first = next_first};
	struct revenue r;

	if (tdb_one(t, &S[S_REVENUE], &in, &r) != 1)
		return -1;
	*current = r.current_month;
	*previous = r.previous_month;
	return 0;
}
