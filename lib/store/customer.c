/*
 * Customers.  Rows are soft-deleted (deleted_at): payments and tickets
 * keep their customer.  pppoe_password_enc is never selected here except
 * by the provisioning worker; the handlers cannot leak what they never
 * read.
 *
 * Search (q) matches the customer code and the phone by prefix, the email
 * exactly and the name by word prefix through the FULLTEXT index
 * ft_customers_search (boolean mode, "+tnt<tenant> +word*...", see
 * migration 0007).  LIKE patterns and
 * the boolean-mode term are built by the handler and bound as values.
 *
 * What a tenant with 10,000 customers costs (sql/mysql/0006):
 *  - A list page reads per_page entries of an index leading with
 *    (tenant_id, deleted_at) in the sort's order.  IGNORE INDEX (PRIMARY)
 *    keeps MariaDB from walking the primary key backwards across every
 *    tenant for "ORDER BY id DESC", which it prefers when one tenant owns
 *    most rows.
 *  - Totals and GET /customers/stats come from customer_counts, one row
 *    per tenant that triggers keep in the writing transaction, so nothing
 *    counts 10,000 index entries per request.  The list carries its total
 *    as the scalar subquery column total_count (NULL when a plan or router
 *    filter makes the counts row unusable): one statement, one round trip.
 *  - A search is a UNION of four index reads, each bounded by the tenant
 *    except the FULLTEXT match (a FULLTEXT index cannot lead with
 *    tenant_id): the (tenant_id, customer_code) and (tenant_id, phone)
 *    ranges, the (tenant_id, email) lookup and the name match, joined to
 *    customers by primary key for the filters and the sort.  COUNT(*)
 *    OVER () gives the total in the same statement.  XXX the name match
 *    reads the matching documents of every tenant before the tenant
 *    filter; with many tenants a per-tenant word index (tenant_id, word,
 *    customer_id) kept by triggers would bound it by the tenant.
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

/*
 * The ids a search matches, as m.match_id (so that the unqualified
 * columns of CUSTOMER_COLS and the sort clauses still name customers).
 */
#define CUSTOMER_MATCH                                                         \
	" (SELECT id AS match_id FROM customers"                               \
	" WHERE tenant_id = ? AND customer_code LIKE ? ESCAPE '!'"             \
	" UNION SELECT id FROM customers"                                      \
	" WHERE tenant_id = ? AND phone LIKE ? ESCAPE '!'"                     \
	" UNION SELECT id FROM customers WHERE tenant_id = ? AND email = ?"    \
	" UNION SELECT id FROM customers"                                      \
	" WHERE MATCH (search_doc) AGAINST (? IN BOOLEAN MODE)"                \
	" AND tenant_id = ?) m"                                                \
	" STRAIGHT_JOIN customers ON id = m.match_id"

/*
 * The live total of the tenant's customers with the list's status filter
 * (params: status four times), or NULL for a status it does not know.
 */
#define CUSTOMER_COUNTED                                                       \
	"SELECT CASE WHEN ? IS NULL"                                           \
	" THEN n_pending + n_active + n_suspended + n_terminated"              \
	" WHEN ? = 'pending' THEN n_pending WHEN ? = 'active' THEN n_active"   \
	" WHEN ? = 'suspended' THEN n_suspended ELSE n_terminated END"         \
	" FROM customer_counts WHERE tenant_id = ?"

static const char *const customer_orders[] = {
    "ix_customers_tenant_live_id|id DESC",
    "ix_customers_tenant_live_id|id ASC",
    "ix_customers_tenant_live_name|name ASC, id ASC",
    "ix_customers_tenant_live_name|name DESC, id DESC",
    "ix_customers_tenant_live_code|customer_code ASC",
    "ix_customers_tenant_live_code|customer_code DESC",
    "ix_customers_tenant_live_created|created_at ASC, id ASC",
    "ix_customers_tenant_live_created|created_at DESC, id DESC",
    "ix_customers_tenant_live_price|monthly_price ASC, id ASC",
    "ix_customers_tenant_live_price|monthly_price DESC, id DESC",
    NULL,
};

/* Search ranks a handful of matches: no index to force there. */
static const char *const customer_search_orders[] = {
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
	/*
	 * The page and, as its last column total_count, the total from
	 * customer_counts when only a status filter applies (params: plan
	 * and router, then the status four times, then the filter's).
	 */
	[CUSTOMER_LIST] = STMT_ORDERED("customer_list", SCOPE_TENANT,
	     "iisssst" "tssiiii" "ii",
	     "SELECT " CUSTOMER_COLS ", IF(? <> 0 OR ? <> 0, NULL, ("
	     CUSTOMER_COUNTED ")) AS total_count"
	     " FROM customers{INDEX}" CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", customer_orders),
	/* With a plan or router filter: ix_customers_tenant_plan and rows. */
	[CUSTOMER_COUNT] = STMT("customer_count", SCOPE_TENANT, "tssiiii",
	     "SELECT COUNT(*) FROM customers" CUSTOMER_FILTER),
	/* The total without plan or router filter; no row: 0. */
	[CUSTOMER_COUNT_ALL] = STMT("customer_count_all", SCOPE_TENANT,
	     "ssss" "t", CUSTOMER_COUNTED),
	[CUSTOMER_SEARCH] = STMT_ORDERED("customer_search", SCOPE_TENANT,
	     "tststsst" "tssiiii" "ii",
	     "SELECT " CUSTOMER_COLS ", COUNT(*) OVER () AS total_count"
	     " FROM" CUSTOMER_MATCH CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", customer_search_orders),
	[CUSTOMER_SEARCH_COUNT] = STMT("customer_search_count", SCOPE_TENANT,
	     "tststsst" "tssiiii",
	     "SELECT COUNT(*) FROM" CUSTOMER_MATCH CUSTOMER_FILTER),
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
	/*
	 * Live customers by status, one row (none before the tenant's first
	 * customer): pending, active, suspended, terminated.
	 */
	[CUSTOMER_STATUS_COUNTS] = STMT("customer_status_counts", SCOPE_TENANT,
	     "t",
	     "SELECT n_pending, n_active, n_suspended, n_terminated"
	     " FROM customer_counts WHERE tenant_id = ?"),
	[CUSTOMER_JOB_INSERT] = STMT("customer_job_insert", SCOPE_TENANT,
	     "tiiss",
	     "INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
	     " action, payload) VALUES (?, ?, ?, ?, ?)"),
	[CUSTOMER__MAX] = STMT_END
};
/* clang-format on */
