/*
 * Customers.  Rows are soft-deleted (deleted_at): payments and tickets
 * keep their customer.  pppoe_password_enc is never selected here except
 * by the provisioning worker; the handlers cannot leak what they never
 * read.
 *
 * Search (q) matches the customer code and the phone by prefix, the email
 * exactly and the name by word prefix through the FULLTEXT index
 * ft_customers_name (boolean mode, "+word*" per word).  LIKE patterns and
 * the boolean-mode term are built by the handler and bound as values.
 */
#include "store/store.h"

#define CUSTOMER_COLS                                                          \
	"id, customer_code, name, phone, email, address, service_plan_id,"     \
	" status, router_id, pppoe_username, monthly_price, billing_day,"      \
	" installed_at, notes, created_at, updated_at"

/* The filters every list and count shares: status, plan, router. */
#define CUSTOMER_FILTER                                                        \
	" WHERE tenant_id = ? AND deleted_at IS NULL"                          \
	" AND (? IS NULL OR status = ?)"                                       \
	" AND (? = 0 OR service_plan_id = ?)"                                  \
	" AND (? = 0 OR router_id = ?)"

#define CUSTOMER_MATCH                                                         \
	" AND (customer_code LIKE ? ESCAPE '!' OR phone LIKE ? ESCAPE '!'"     \
	" OR email = ?"                                                        \
	" OR MATCH (name) AGAINST (? IN BOOLEAN MODE))"

static const char *const customer_orders[] = {
    "id DESC",
    "id ASC",
    "name ASC, id ASC",
    "name DESC, id DESC",
    "customer_code ASC",
    "customer_code DESC",
    "created_at ASC, id ASC",
    "created_at DESC, id DESC",
    "monthly_price ASC, id ASC",
    "monthly_price DESC, id DESC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_customer_stmts[] = {
	[CUSTOMER_GET] = STMT("customer_get", SCOPE_TENANT, "ti",
	     "SELECT " CUSTOMER_COLS " FROM customers"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[CUSTOMER_GET_LOCKED] = STMT("customer_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " CUSTOMER_COLS " FROM customers"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"
	     " FOR UPDATE"),
	[CUSTOMER_LIST] = STMT_ORDERED("customer_list", SCOPE_TENANT,
	     "tssiiiiii",
	     "SELECT " CUSTOMER_COLS " FROM customers" CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", customer_orders),
	[CUSTOMER_COUNT] = STMT("customer_count", SCOPE_TENANT, "tssiiii",
	     "SELECT COUNT(*) FROM customers" CUSTOMER_FILTER),
	/*
	 * The unfiltered total, the common case: a covering scan of
	 * ix_customers_tenant_status instead of reading every row.
	 */
	[CUSTOMER_COUNT_ALL] = STMT("customer_count_all", SCOPE_TENANT, "t",
	     "SELECT COUNT(*) FROM customers"
	     " FORCE INDEX (ix_customers_tenant_status)"
	     " WHERE tenant_id = ? AND deleted_at IS NULL"),
	[CUSTOMER_SEARCH] = STMT_ORDERED("customer_search", SCOPE_TENANT,
	     "tssiiiissssii",
	     "SELECT " CUSTOMER_COLS " FROM customers" CUSTOMER_FILTER
	     CUSTOMER_MATCH " ORDER BY {ORDER} LIMIT ? OFFSET ?",
	     customer_orders),
	[CUSTOMER_SEARCH_COUNT] = STMT("customer_search_count", SCOPE_TENANT,
	     "tssiiiissss",
	     "SELECT COUNT(*) FROM customers" CUSTOMER_FILTER CUSTOMER_MATCH),
	[CUSTOMER_INSERT] = STMT("customer_insert", SCOPE_TENANT,
	     "tsssssiisdiss",
	     "INSERT INTO customers (tenant_id, customer_code, name, phone,"
	     " email, address, service_plan_id, router_id, pppoe_username,"
	     " monthly_price, billing_day, installed_at, notes)"
	     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
	[CUSTOMER_SET_PASSWORD] = STMT("customer_set_password", SCOPE_TENANT,
	     "bti",
	     "UPDATE customers SET pppoe_password_enc = ?"
	     " WHERE tenant_id = ? AND id = ?"),
	[CUSTOMER_UPDATE] = STMT("customer_update", SCOPE_TENANT,
	     "ssssiisdissti",
	     "UPDATE customers SET name = ?, phone = ?, email = ?, address = ?,"
	     " service_plan_id = ?, router_id = ?, pppoe_username = ?,"
	     " monthly_price = ?, billing_day = ?, installed_at = ?, notes = ?"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[CUSTOMER_SET_STATUS] = STMT("customer_set_status", SCOPE_TENANT, "sti",
	     "UPDATE customers SET status = ?"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[CUSTOMER_DELETE] = STMT("customer_delete", SCOPE_TENANT, "ti",
	     "UPDATE customers SET deleted_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	/* Covered by ix_customers_tenant_status (tenant_id, status, deleted_at). */
	[CUSTOMER_STATUS_COUNTS] = STMT("customer_status_counts", SCOPE_TENANT,
	     "t",
	     "SELECT status, COUNT(*) FROM customers"
	     " WHERE tenant_id = ? AND deleted_at IS NULL GROUP BY status"),
	[CUSTOMER_JOB_INSERT] = STMT("customer_job_insert", SCOPE_TENANT,
	     "tiiss",
	     "INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
	     " action, payload) VALUES (?, ?, ?, ?, ?)"),
	[CUSTOMER__MAX] = STMT_END
};
/* clang-format on */
