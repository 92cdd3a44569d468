/*
 * The figures of GET /dashboard/stats.  Customer counts come from
 * store_customer_stmts[CUSTOMER_STATUS_COUNTS] (the customer_counts row).
 * Revenue is the sum of paid payments by payment_date, a DATE in the tenant's
 * time zone, so month boundaries are plain date comparisons.
 */
#include "store/store.h"

/* clang-format off */
const struct stmt_def store_dashboard_stmts[] = {
	/*
	 * Params: current month's first day (twice), the tenant, the
	 * previous month's first day and the next month's first day.
	 * payment_months holds the paid amounts per month of payment_date
	 * (kept by triggers, sql/mysql/0006): two primary-key reads.
	 */
	[DASHBOARD_REVENUE] = STMT("dashboard_revenue", SCOPE_TENANT, "sstss",
	     "SELECT COALESCE(SUM(CASE WHEN month >= ? THEN paid_amount END),"
	     " 0.00) AS current_month,"
	     " COALESCE(SUM(CASE WHEN month < ? THEN paid_amount END), 0.00)"
	     " AS previous_month FROM payment_months WHERE tenant_id = ?"
	     " AND month >= ? AND month < ?"),
	[DASHBOARD_TICKETS] = STMT("dashboard_tickets", SCOPE_TENANT, "t",
	     "SELECT status, COUNT(*) FROM tickets WHERE tenant_id = ?"
	     " GROUP BY status"),
	[DASHBOARD__MAX] = STMT_END
};
/* clang-format on */
