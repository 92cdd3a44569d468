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
#include "store/store.h"

#define PAYMENT_COLS                                                           \
	"id, customer_id, amount, status, period, due_date, payment_date,"     \
	" method, reference, notes, source, created_at, updated_at"

/* Filters: customer, status and a date range on the column named. */
#define PAYMENT_FILTER(col)                                                    \
	" WHERE tenant_id = ? AND (? = 0 OR customer_id = ?)"                  \
	" AND (? IS NULL OR status = ?)"                                       \
	" AND (? IS NULL OR " col " >= ?)"                                     \
	" AND (? IS NULL OR " col " <= ?)"

static const char *const payment_orders[] = {
    "due_date DESC, id DESC",
    "due_date ASC, id ASC",
    "payment_date DESC, id DESC",
    "payment_date ASC, id ASC",
    "amount DESC, id DESC",
    "amount ASC, id ASC",
    "created_at DESC, id DESC",
    "created_at ASC, id ASC",
    "id ASC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_payment_stmts[] = {
	[PAYMENT_GET] = STMT("payment_get", SCOPE_TENANT, "ti",
	     "SELECT " PAYMENT_COLS " FROM payments"
	     " WHERE tenant_id = ? AND id = ?"),
	[PAYMENT_GET_LOCKED] = STMT("payment_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " PAYMENT_COLS " FROM payments"
	     " WHERE tenant_id = ? AND id = ? FOR UPDATE"),
	[PAYMENT_LIST_DUE] = STMT_ORDERED("payment_list_due", SCOPE_TENANT,
	     "tiissssssii",
	     "SELECT " PAYMENT_COLS " FROM payments" PAYMENT_FILTER("due_date")
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", payment_orders),
	[PAYMENT_COUNT_DUE] = STMT("payment_count_due", SCOPE_TENANT,
	     "tiissssss",
	     "SELECT COUNT(*) FROM payments" PAYMENT_FILTER("due_date")),
	[PAYMENT_LIST_PAID] = STMT_ORDERED("payment_list_paid", SCOPE_TENANT,
	     "tiissssssii",
	     "SELECT " PAYMENT_COLS " FROM payments"
	     PAYMENT_FILTER("payment_date")
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", payment_orders),
	[PAYMENT_COUNT_PAID] = STMT("payment_count_paid", SCOPE_TENANT,
	     "tiissssss",
	     "SELECT COUNT(*) FROM payments" PAYMENT_FILTER("payment_date")),
	[PAYMENT_INSERT] = STMT("payment_insert", SCOPE_TENANT, "tidsssssss",
	     "INSERT INTO payments (tenant_id, customer_id, amount, status,"
	     " period, due_date, payment_date, method, reference, notes)"
	     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
	[PAYMENT_UPDATE] = STMT("payment_update", SCOPE_TENANT, "dsssssti",
	     "UPDATE payments SET amount = ?, status = ?, payment_date = ?,"
	     " method = ?, reference = ?, notes = ?"
	     " WHERE tenant_id = ? AND id = ?"),
	/*
	 * One pending invoice per active customer for a period, due on the
	 * customer's billing day (clamped to the month's length, see
	 * lib/billing.h).  Params: period, its first day, days in the
	 * month.  IGNORE skips customers invoiced already (the unique key),
	 * also when another run inserts them at the same moment.
	 */
	[PAYMENT_INVOICE_RUN] = STMT("payment_invoice_run", SCOPE_TENANT, "ssit",
	     "INSERT IGNORE INTO payments (tenant_id, customer_id, amount,"
	     " status, period, due_date, source)"
	     " SELECT tenant_id, id, monthly_price, 'pending', ?,"
	     " DATE_ADD(?, INTERVAL LEAST(billing_day, ?) - 1 DAY), 'invoice'"
	     " FROM customers WHERE tenant_id = ? AND status = 'active'"
	     " AND deleted_at IS NULL"),
	/*
	 * Pending payments past due, locked; rows another run holds are
	 * skipped, so concurrent runs share the work instead of waiting.
	 */
	[PAYMENT_OVERDUE_PICK] = STMT("payment_overdue_pick", SCOPE_TENANT, "tsi",
	     "SELECT id, customer_id, amount, period, due_date FROM payments"
	     " WHERE tenant_id = ? AND status = 'pending' AND due_date < ?"
	     " ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED"),
	[PAYMENT_OVERDUE_MARK] = STMT("payment_overdue_mark", SCOPE_TENANT, "ti",
	     "UPDATE payments SET status = 'overdue'"
	     " WHERE tenant_id = ? AND id = ? AND status = 'pending'"),
	[PAYMENT__MAX] = STMT_END
};

const struct stmt_def store_billing_global_stmts[] = {
	/* Active tenants (or just one with a non-zero id) and their zones. */
	[BILLING_TENANTS] = STMT("billing_tenants", SCOPE_GLOBAL, "ii",
	     "SELECT id, timezone FROM tenants WHERE status = 'active'"
	     " AND (? = 0 OR id = ?) ORDER BY id"),
	[BILLING_GLOBAL__MAX] = STMT_END
};
/* clang-format on */
