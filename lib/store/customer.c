/*
 * What a tenant with 10,000 customers costs (sql/mysql/0006, 0016):
 *  - A list page reads per_page entries of an index leading with
 *    (tenant_id, deleted_at) in the sort's order; FORCE INDEX names it,
 *    because MariaDB's index dives over customers' many indexes cost
 *    more than reading the page.
 *  - Totals and GET /customers/stats come from customer_counts, one row
 *    per tenant that triggers keep in the writing transaction, so nothing
 *    counts 10,000 index entries per request.  The list carries its total
 *    as the column total_count (NULL when a plan or router filter makes
 *    the counts row unusable): one statement, one round trip.  A list
 *    without filters has a statement of its own, without the filters'
 *    parameters and the CASE over the status: MariaDB re-optimises a
 *    prepared statement at every execution, and those items cost more
 *    than reading the page.
 *  - A search matches q against the customer code and the phone by
 *    prefix, the email exactly and the name by word prefix: every word of
 *    q must start a word of the name (customer_words, migration 0016: one
 *    row per word of each live customer's name, kept by triggers, whose
 *    collation makes the match case- and accent-insensitive).  Each part
 *    is an index range inside the tenant, as long as its matches.
 *    The statement first collects the matching ids and counts them
 *    (COUNT(*) OVER ()), takes the page of ids and only then reads those
 *    customers, so a search of a 100,000-customer tenant reads 20 rows,
 *    not every match.  With a status, plan or router filter or a sort
 *    other than by id, the matches are joined to customers first (the
 *    filter and the sort need their columns), still carrying no more
 *    than their ids.
 *  - Most searches are one word of a name ("budi").  Such a q cannot be
 *    a code, a phone or an email prefix (see search_plan()), so it has a
 *    statement of its own without the UNION of the four parts, which
 *    costs a temporary table of every match.
 */
#include "store/customer.h"

#include <inttypes.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "store/list.h"

/* clang-format off */
#define CUSTOMER_MEMBERS(T) \
	COL_INT(T, id, 0), \
	COL_STR(T, customer_code, 0), \
	COL_STR(T, name, 0), \
	COL_STR(T, phone, 0), \
	COL_STR(T, email, COL_F_NULL), \
	COL_STR(T, address, 0), \
	COL_INT(T, service_plan_id, 0), \
	COL_STR(T, status, 0), \
	COL_INT(T, router_id, COL_F_NULL), \
	COL_STR(T, router_state, COL_F_NULL), \
	COL_STR(T, router_error, COL_F_NULL), \
	COL_STR(T, pppoe_username, COL_F_NULL), \
	COL_DEC(T, monthly_price, 0), \
	COL_INT(T, billing_day, 0), \
	COL_DATE(T, installed_at, COL_F_NULL), \
	COL_STR(T, notes, COL_F_NULL), \
	COL_TIME(T, created_at, 0), \
	COL_TIME(T, updated_at, 0)

static const struct col customer_cols[] = {
	CUSTOMER_MEMBERS(struct customer),
	COL_END
};
const struct rowtype customer_row =
    ROWTYPE(struct customer, "customer", customer_cols);

/* A list's rows: a customer and the list's total. */
static const struct col customer_page_cols[] = {
	CUSTOMER_MEMBERS(struct customer),
	COL_INT(struct customer, total_count, COL_F_NULL | COL_F_HIDDEN),
	COL_END
};
static const struct rowtype customer_page_row =
    ROWTYPE(struct customer, "customer", customer_page_cols);

/* What the list and search statements bind. */
struct customer_find {
	const char *status;
	int64_t service_plan_id, router_id;
	const char *q, *like;
	const char *w1, *w2, *w3, *w4, *w5, *w6, *w7, *w8;
};
static const struct col customer_find_cols[] = {
	COL_STR(struct customer_find, status, COL_F_NULL),
	COL_INT(struct customer_find, service_plan_id, COL_F_NULL),
	COL_INT(struct customer_find, router_id, COL_F_NULL),
	COL_STR(struct customer_find, q, COL_F_NULL),
	COL_STR(struct customer_find, like, COL_F_NULL),
	COL_STR(struct customer_find, w1, COL_F_NULL),
	COL_STR(struct customer_find, w2, COL_F_NULL),
	COL_STR(struct customer_find, w3, COL_F_NULL),
	COL_STR(struct customer_find, w4, COL_F_NULL),
	COL_STR(struct customer_find, w5, COL_F_NULL),
	COL_STR(struct customer_find, w6, COL_F_NULL),
	COL_STR(struct customer_find, w7, COL_F_NULL),
	COL_STR(struct customer_find, w8, COL_F_NULL),
	COL_END
};
static const struct rowtype customer_find_in =
    ROWTYPE(struct customer_find, "customer_find", customer_find_cols);

/* What the writing statements bind. */
struct customer_in {
	int64_t id, service_plan_id, router_id, billing_day, customer_id;
	const char *customer_code, *name, *phone, *email, *address;
	const char *pppoe_username, *monthly_price, *installed_at, *notes;
	const char *status, *action, *payload, *router_state, *router_error;
	struct bytes password;
};
static const struct col customer_in_cols[] = {
	COL_INT(struct customer_in, id, 0),
	COL_INT(struct customer_in, service_plan_id, 0),
	COL_INT(struct customer_in, router_id, COL_F_NULL),
	COL_INT(struct customer_in, billing_day, 0),
	COL_INT(struct customer_in, customer_id, 0),
	COL_STR(struct customer_in, customer_code, 0),
	COL_STR(struct customer_in, name, 0),
	COL_STR(struct customer_in, phone, 0),
	COL_STR(struct customer_in, email, COL_F_NULL),
	COL_STR(struct customer_in, address, 0),
	COL_STR(struct customer_in, pppoe_username, COL_F_NULL),
	COL_DEC(struct customer_in, monthly_price, 0),
	COL_DATE(struct customer_in, installed_at, COL_F_NULL),
	COL_STR(struct customer_in, notes, COL_F_NULL),
	COL_STR(struct customer_in, status, 0),
	COL_STR(struct customer_in, action, 0),
	COL_JSON(struct customer_in, payload, COL_F_NULL),
	COL_STR(struct customer_in, router_state, COL_F_NULL),
	COL_STR(struct customer_in, router_error, COL_F_NULL),
	COL_BYTES(struct customer_in, password, COL_F_NULL),
	COL_END
};
static const struct rowtype customer_in =
    ROWTYPE(struct customer_in, "customer_in", customer_in_cols);

static const struct col secret_cols[] = {
	COL_INT(struct customer_secret, id, 0),
	COL_STR(struct customer_secret, customer_code, 0),
	COL_STR(struct customer_secret, name, 0),
	COL_STR(struct customer_secret, status, 0),
	COL_INT(struct customer_secret, router_id, COL_F_NULL),
	COL_INT(struct customer_secret, service_plan_id, 0),
	COL_STR(struct customer_secret, pppoe_username, COL_F_NULL),
	COL_BOOL(struct customer_secret, deleted, 0),
	COL_BYTES(struct customer_secret, password_enc, COL_F_NULL),
	COL_END
};
static const struct rowtype secret_row =
    ROWTYPE(struct customer_secret, "customer_secret", secret_cols);

static const struct col counts_cols[] = {
	COL_INT(struct customer_counts, pending, 0),
	COL_INT(struct customer_counts, active, 0),
	COL_INT(struct customer_counts, suspended, 0),
	COL_INT(struct customer_counts, terminated, 0),
	COL_END
};
static const struct rowtype counts_row =
    ROWTYPE(struct customer_counts, "customer_counts", counts_cols);

static const struct sort_def customer_sorts[] = {
	{ "-id", "ix_customers_tenant_live_id|id DESC" },
	{ "id", "ix_customers_tenant_live_id|id ASC" },
	{ "name", "ix_customers_tenant_live_name|name ASC, id ASC" },
	{ "-name", "ix_customers_tenant_live_name|name DESC, id DESC" },
	{ "code", "ix_customers_tenant_live_code|customer_code ASC" },
	{ "-code", "ix_customers_tenant_live_code|customer_code DESC" },
	{ "created_at", "ix_customers_tenant_live_created|created_at ASC, id ASC" },
	{ "-created_at", "ix_customers_tenant_live_created|created_at DESC, id DESC" },
	{ "monthly_price", "ix_customers_tenant_live_price|monthly_price ASC, id ASC" },
	{ "-monthly_price", "ix_customers_tenant_live_price|monthly_price DESC, id DESC" },
	{ NULL, NULL }
};

/*
 * A search's sorts: the same keys in the same order as customer_sorts
 * (the list's sort index selects them), without an index to force: a
 * search sorts its matches, not the tenant.
 */
static const struct sort_def customer_search_sorts[] = {
	{ "-id", "id DESC" },
	{ "id", "id ASC" },
	{ "name", "name ASC, id ASC" },
	{ "-name", "name DESC, id DESC" },
	{ "code", "customer_code ASC" },
	{ "-code", "customer_code DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "monthly_price", "monthly_price ASC, id ASC" },
	{ "-monthly_price", "monthly_price DESC, id DESC" },
	{ NULL, NULL }
};

/* The sorts a search can take from its ids alone: the first two. */
#define SEARCH_ID_SORTS 2
static const struct sort_def customer_search_id_sorts[] = {
	{ "-id", "id DESC" },
	{ "id", "id ASC" },
	{ NULL, NULL }
};

#define CUSTOMER_COLS \
	"id, customer_code, name, phone, email, address, service_plan_id," \
	" status, router_id, router_state, router_error, pppoe_username," \
	" monthly_price, billing_day," \
	" installed_at, notes, created_at, updated_at"

/* The filters every list and count shares: status, plan, router. */
#define CUSTOMER_FILTER \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:service_plan_id IS NULL OR service_plan_id = :service_plan_id)" \
	" AND (:router_id IS NULL OR router_id = :router_id)"

/*
 * The live total of the tenant's customers with the list's status
 * filter, or NULL for a status it does not know.
 */
#define CUSTOMER_COUNTED \
	"SELECT CASE WHEN :status IS NULL" \
	" THEN n_pending + n_active + n_suspended + n_terminated" \
	" WHEN :status = 'pending' THEN n_pending" \
	" WHEN :status = 'active' THEN n_active" \
	" WHEN :status = 'suspended' THEN n_suspended ELSE n_terminated END" \
	" FROM customer_counts WHERE tenant_id = :tenant"

/*
 * The ids of the live customers a search matches, as the column col of
 * one derived table.  SEARCH_ONE: a name word starting with :w1 (one
 * word; DISTINCT, since "Budi Budiman" has two).  SEARCH_ANY2 and
 * SEARCH_ANY8: the code or the phone starting with :like, the email equal
 * to :q, or a name in which each of :w1 .. :w2 (or :w8) starts a word:
 * the words of every one of those prefixes, grouped by customer, a
 * customer kept when each prefix matched one of them.  A search with
 * fewer words binds the first word to the others (never NULL: "word LIKE
 * NULL" in the OR would make the range the whole tenant).  Grouping costs
 * as much as the prefixes' words; a first word that drives and a subquery
 * per match for each other word (EXISTS or a join) cost two to three
 * times more per match in MariaDB 10.11, measured for "budi santoso".
 * A search of one or two words has the shorter statement.
 * SEARCH_MAIL, for a q with an '@' and several words: the email and the
 * name parts alone, since no code or phone holds an '@', and the name
 * part is skipped outright when :w2 or :w3 starts no word of the tenant
 * (one index probe each): an email's domain ("gmail", "com") rarely
 * starts a name's word, while its other words ("budi") may match
 * thousands in a large tenant.  Every part
 * reads an index that leads with the tenant, named with FORCE INDEX for
 * the reason the list forces its own (without it the optimiser's index
 * dives over customers' sixteen indexes cost 60-120 us a search);
 * soft-deleted customers have no words.
 */
#define SEARCH_ONE(col) \
	"SELECT DISTINCT customer_id AS " col \
	" FROM customer_words FORCE INDEX (PRIMARY)" \
	" WHERE tenant_id = :tenant AND word LIKE :w1 ESCAPE '!'"

#define SEARCH_OR(n) " OR word LIKE :w" #n " ESCAPE '!'"
#define SEARCH_HAS(n) " AND MAX(word LIKE :w" #n " ESCAPE '!') = 1"

#define SEARCH_ANY(col, words, having) \
	"SELECT id AS " col " FROM customers" \
	" FORCE INDEX (ix_customers_tenant_live_code)" \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND customer_code LIKE :like ESCAPE '!'" \
	" UNION SELECT id FROM customers" \
	" FORCE INDEX (ix_customers_tenant_live_phone)" \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND phone LIKE :like ESCAPE '!'" \
	" UNION SELECT id FROM customers" \
	" FORCE INDEX (ix_customers_tenant_email)" \
	" WHERE tenant_id = :tenant AND email = :q AND deleted_at IS NULL" \
	" UNION" SEARCH_NAME(words, "", having)

/* The name part of SEARCH_ANY and SEARCH_MAIL. */
#define SEARCH_NAME(words, guard, having) \
	" SELECT customer_id FROM customer_words FORCE INDEX (PRIMARY)" \
	" WHERE tenant_id = :tenant AND (word LIKE :w1 ESCAPE '!'" words ")" \
	guard " GROUP BY customer_id" \
	" HAVING MAX(word LIKE :w1 ESCAPE '!') = 1" having

#define SEARCH_SOME(n) \
	" AND EXISTS (SELECT 1 FROM customer_words FORCE INDEX (PRIMARY)" \
	" WHERE tenant_id = :tenant AND word LIKE :w" #n " ESCAPE '!')"

#define SEARCH_OR8 \
	SEARCH_OR(2) SEARCH_OR(3) SEARCH_OR(4) SEARCH_OR(5) SEARCH_OR(6) \
	SEARCH_OR(7) SEARCH_OR(8)
#define SEARCH_HAS8 \
	SEARCH_HAS(2) SEARCH_HAS(3) SEARCH_HAS(4) SEARCH_HAS(5) SEARCH_HAS(6) \
	SEARCH_HAS(7) SEARCH_HAS(8)

#define SEARCH_ANY2(col) SEARCH_ANY(col, SEARCH_OR(2), SEARCH_HAS(2))
#define SEARCH_ANY8(col) SEARCH_ANY(col, SEARCH_OR8, SEARCH_HAS8)

#define SEARCH_MAIL(col) \
	"SELECT id AS " col " FROM customers" \
	" FORCE INDEX (ix_customers_tenant_email)" \
	" WHERE tenant_id = :tenant AND email = :q AND deleted_at IS NULL" \
	" UNION" SEARCH_NAME(SEARCH_OR8, SEARCH_SOME(2) SEARCH_SOME(3), \
	                     SEARCH_HAS8)

/*
 * A page of a search sorted by id: the matching ids counted, sorted and
 * cut to the page, then only the page's customers read.  In the derived
 * table the sort's "id" is the match's (the select list names it
 * match_id), outside it the customer's.
 */
#define SEARCH_BY_ID(match) \
	"SELECT " CUSTOMER_COLS ", m.total AS total_count FROM" \
	" (SELECT u.id AS match_id, COUNT(*) OVER () AS total" \
	" FROM (" match("id") ") u" \
	" ORDER BY {ORDER} LIMIT :limit OFFSET :offset) m" \
	" STRAIGHT_JOIN customers FORCE INDEX (PRIMARY) ON id = m.match_id" \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL ORDER BY {ORDER}"

/*
 * A page of a search with filters or another sort: the matches joined
 * to customers for them, still carrying only their ids to the page, with
 * their place in it (pos).  The page is put in order by pos, a column of
 * m alone: ordering the join by a customers column (name) made MariaDB
 * copy the page's rows into a temporary table, notes and all, and a TEXT
 * column sends it to disk (Aria), at 1,800 against 1,400 us of server CPU
 * for "budi santoso" sorted by name.  MariaDB 10.11.19 also crashed
 * twice in ha_maria::drop_table() freeing such tables under load (one of
 * them this statement's).
 */
#define SEARCH_FILTERED(match) \
	"SELECT " CUSTOMER_COLS ", m.total AS total_count FROM" \
	" (SELECT c.id AS match_id, COUNT(*) OVER () AS total," \
	" ROW_NUMBER() OVER (ORDER BY {ORDER}) AS pos" \
	" FROM (" match("match_id") ") u" \
	" STRAIGHT_JOIN customers c FORCE INDEX (PRIMARY)" \
	" ON c.id = u.match_id" CUSTOMER_FILTER \
	" ORDER BY {ORDER} LIMIT :limit OFFSET :offset) m" \
	" STRAIGHT_JOIN customers FORCE INDEX (PRIMARY) ON id = m.match_id" \
	" WHERE tenant_id = :tenant ORDER BY m.pos"

#define SEARCH_COUNT(match) \
	"SELECT COUNT(*) AS n FROM (" match("match_id") ") u" \
	" STRAIGHT_JOIN customers FORCE INDEX (PRIMARY) ON id = u.match_id" \
	CUSTOMER_FILTER

/* The three statements of a search shape: by id, filtered, count. */
#define SEARCH_STMTS(k, name, match) \
	[S_SEARCH + 3 * (k)] = { "customer_search_" name "_by_id", \
	     SCOPE_TENANT, SEARCH_BY_ID(match), &customer_find_in, \
	     &customer_page_row, customer_search_id_sorts }, \
	[S_SEARCH + 3 * (k) + 1] = { "customer_search_" name, \
	     SCOPE_TENANT, SEARCH_FILTERED(match), &customer_find_in, \
	     &customer_page_row, customer_search_sorts }, \
	[S_SEARCH + 3 * (k) + 2] = { "customer_search_" name "_count", \
	     SCOPE_TENANT, SEARCH_COUNT(match), &customer_find_in, \
	     &db_count_row, NULL }

/* Search shapes, in the order of their statements. */
enum { SHAPE_ONE, SHAPE_ANY2, SHAPE_ANY8, SHAPE_MAIL, SHAPE__MAX };

#define CUSTOMER_LIVE \
	" FROM customers WHERE tenant_id = :tenant AND id = :id" \
	" AND deleted_at IS NULL"

enum {
	S_GET, S_LOCK, S_LIST_ALL, S_LIST, S_COUNT, S_SEARCH,
	S_INSERT = S_SEARCH + 3 * SHAPE__MAX,
	S_SET_PASSWORD, S_UPDATE, S_SET_STATUS, S_DELETE, S_COUNTS,
	S_JOB_INSERT, S_ROUTER_STATE, S_JOB_PENDING, S_SECRET, S_ON_ROUTER,
	S_IMPORT, S_ROUTER_RESULT, S_LOCK_ANY, S_ON_PLAN,
};

#define CUSTOMER_SECRET_COLS \
	"SELECT id, customer_code, name, status, router_id, service_plan_id," \
	" pppoe_username, deleted_at IS NOT NULL AS deleted," \
	" pppoe_password_enc AS password_enc FROM customers"

const struct stmt_def store_customer_stmts[] = {
	[S_GET] = { "customer_get", SCOPE_TENANT, "SELECT {COLS}" CUSTOMER_LIVE,
	     &db_id_in, &customer_row, NULL },
	[S_LOCK] = { "customer_lock", SCOPE_TENANT,
	     "SELECT {COLS}" CUSTOMER_LIVE " FOR UPDATE",
	     &db_id_in, &customer_row, NULL },
	[S_LIST_ALL] = { "customer_list_all", SCOPE_TENANT,
	     "SELECT " CUSTOMER_COLS ", (SELECT n_pending + n_active"
	     " + n_suspended + n_terminated FROM customer_counts"
	     " WHERE tenant_id = :tenant) AS total_count"
	     " FROM customers{INDEX}"
	     " WHERE tenant_id = :tenant AND deleted_at IS NULL"
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &customer_find_in, &customer_page_row, customer_sorts },
	[S_LIST] = { "customer_list", SCOPE_TENANT,
	     "SELECT " CUSTOMER_COLS ", IF(:service_plan_id IS NOT NULL"
	     " OR :router_id IS NOT NULL, NULL, (" CUSTOMER_COUNTED "))"
	     " AS total_count FROM customers{INDEX}" CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &customer_find_in, &customer_page_row, customer_sorts },
	[S_COUNT] = { "customer_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM customers" CUSTOMER_FILTER,
	     &customer_find_in, &db_count_row, NULL },
	SEARCH_STMTS(SHAPE_ONE, "one", SEARCH_ONE),
	SEARCH_STMTS(SHAPE_ANY2, "any2", SEARCH_ANY2),
	SEARCH_STMTS(SHAPE_ANY8, "any8", SEARCH_ANY8),
	SEARCH_STMTS(SHAPE_MAIL, "mail", SEARCH_MAIL),
	[S_INSERT] = { "customer_insert", SCOPE_TENANT,
	     "INSERT INTO customers (tenant_id, customer_code, name, phone,"
	     " email, address, service_plan_id, router_id, pppoe_username,"
	     " monthly_price, billing_day, installed_at, notes)"
	     " VALUES (:tenant, :customer_code, :name, :phone, :email,"
	     " :address, :service_plan_id, :router_id, :pppoe_username,"
	     " :monthly_price, :billing_day, :installed_at, :notes)",
	     &customer_in, NULL, NULL },
	[S_SET_PASSWORD] = { "customer_set_password", SCOPE_TENANT,
	     "UPDATE customers SET pppoe_password_enc = :password"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &customer_in, NULL, NULL },
	[S_UPDATE] = { "customer_update", SCOPE_TENANT,
	     "UPDATE customers SET name = :name, phone = :phone,"
	     " email = :email, address = :address,"
	     " service_plan_id = :service_plan_id, router_id = :router_id,"
	     " pppoe_username = :pppoe_username,"
	     " monthly_price = :monthly_price, billing_day = :billing_day,"
	     " installed_at = :installed_at, notes = :notes"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &customer_in, NULL, NULL },
	[S_SET_STATUS] = { "customer_set_status", SCOPE_TENANT,
	     "UPDATE customers SET status = :status"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &customer_in, NULL, NULL },
	[S_DELETE] = { "customer_delete", SCOPE_TENANT,
	     "UPDATE customers SET deleted_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, NULL, NULL },
	[S_COUNTS] = { "customer_counts", SCOPE_TENANT,
	     "SELECT n_pending AS pending, n_active AS active,"
	     " n_suspended AS suspended, n_terminated AS `terminated`"
	     " FROM customer_counts WHERE tenant_id = :tenant",
	     NULL, &counts_row, NULL },
	[S_JOB_INSERT] = { "customer_job_insert", SCOPE_TENANT,
	     "INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
	     " action, payload) VALUES (:tenant, :customer_id, :router_id,"
	     " :action, :payload)", &customer_in, NULL, NULL },
	[S_ROUTER_STATE] = { "customer_router_state", SCOPE_TENANT,
	     "UPDATE customers SET router_state = :router_state,"
	     " router_error = :router_error WHERE tenant_id = :tenant AND id = :id",
	     &customer_in, NULL, NULL },
	[S_JOB_PENDING] = { "customer_job_pending", SCOPE_TENANT,
	     "UPDATE customers SET router_state = 'pending', router_error = NULL"
	     " WHERE tenant_id = :tenant AND id = :customer_id",
	     &customer_in, NULL, NULL },
	[S_SECRET] = { "customer_secret", SCOPE_TENANT,
	     CUSTOMER_SECRET_COLS " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &secret_row, NULL },
	[S_ON_ROUTER] = { "customer_on_router", SCOPE_TENANT,
	     CUSTOMER_SECRET_COLS " WHERE tenant_id = :tenant"
	     " AND router_id = :router_id AND deleted_at IS NULL ORDER BY id",
	     &customer_in, &secret_row, NULL },
	[S_IMPORT] = { "customer_import", SCOPE_TENANT,
	     "INSERT INTO customers (tenant_id, customer_code, name, phone,"
	     " address, service_plan_id, status, router_id, router_state,"
	     " pppoe_username, monthly_price, billing_day, notes)"
	     " VALUES (:tenant, :customer_code, :name, :phone, :address,"
	     " :service_plan_id, :status, :router_id, 'synced',"
	     " :pppoe_username, :monthly_price, :billing_day, :notes)",
	     &customer_in, NULL, NULL },
	/*
	 * Another unfinished job of the customer keeps it pending: the
	 * router has not confirmed everything yet.
	 */
	[S_ROUTER_RESULT] = { "customer_router_result", SCOPE_TENANT,
	     "UPDATE customers SET router_state = IF(EXISTS (SELECT 1"
	     " FROM provisioning_jobs j WHERE j.tenant_id = :tenant"
	     " AND j.customer_id = :id AND j.status IN ('pending', 'running')),"
	     " 'pending', :router_state), router_error = :router_error"
	     " WHERE tenant_id = :tenant AND id = :id AND router_id IS NOT NULL",
	     &customer_in, NULL, NULL },
	[S_LOCK_ANY] = { "customer_lock_any", SCOPE_TENANT,
	     "SELECT id AS n FROM customers WHERE tenant_id = :tenant"
	     " AND id = :id FOR UPDATE", &db_id_in, &db_count_row, NULL },
	[S_ON_PLAN] = { "customer_on_plan", SCOPE_TENANT,
	     "SELECT {COLS} FROM customers WHERE tenant_id = :tenant"
	     " AND service_plan_id = :service_plan_id AND router_id IS NOT NULL"
	     " AND deleted_at IS NULL AND status IN ('active', 'suspended')"
	     " ORDER BY id", &customer_in, &customer_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_customer_stmts;

#define SEARCH_MAX_WORDS 8

/* Appends s (n bytes) to b with LIKE's wildcards escaped ('!'). */
static void
like_escape(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '!')
			buf_addch(b, '!');
		buf_addch(b, s[i]);
	}
}

/*
 * The code point of the UTF-8 sequence at s (n bytes left) and its
 * length.  A byte that starts no valid sequence reads as 0x80, a
 * separator, so that a word is always valid UTF-8 (the request layer
 * lets no such byte through anyway).
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
	uint32_t c = s[0] < 0x80 ? s[0]
	             : len == 2  ? s[0] & 0x1Fu
	             : len == 3  ? s[0] & 0x0Fu
	                         : s[0] & 0x07u;

	if (s[0] >= 0x80 && (s[0] < 0xC2 || s[0] > 0xF4 || len > n))
		goto out_bad;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto out_bad;
		c = c << 6 | (s[i] & 0x3Fu);
	}
	*cp = c;
	return len;

out_bad:
	*cp = 0x80;
	return 1;
}

/*
 * Whether code point c separates the words of a name: the set of
 * sql/mysql/0016_search_and_dashboard.up.sql (and its PostgreSQL twin),
 * which splits the names into customer_words.  The two must agree, or a
 * word of q could never match a word of a name.
 */
static int
search_separator(uint32_t c)
{
	if (c < 0x80)
		return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		         (c >= 'A' && c <= 'Z'));
	return c <= 0xBF || c == 0xD7 || c == 0xF7 ||
	       (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) ||
	       c == 0xFEFF;
}

/*
 * Whether code point c is a character that no customer code, phone or
 * email prefix can hold, even up to case and accents: an ASCII letter
 * other than c (codes are "C-" and digits, fcgi/customers.c; a phone is
 * '+' and digits, or an import's '-').  Letters beyond ASCII do not
 * count, since the collation equals some of them to ASCII ones ("Ç" to
 * "C").
 */
static int
search_name_only(uint32_t c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) && c != 'c' &&
	       c != 'C';
}

/*
 * A search's parameters from q: :q (the email), :like (the code and
 * phone prefix), and :w1 .. :w8, the name words as LIKE prefixes, the
 * longest first.
 * Words past the eighth are ignored, as the full-text search of 0007 did.
 * Sets *shape to the statements that fit q: SHAPE_ONE when q can only
 * match a name word (see search_name_only()): one word, no '@' (every
 * valid email has one) and a character that no code or phone holds;
 * SHAPE_MAIL for an '@' and several words; SHAPE_ANY2 or SHAPE_ANY8 by
 * the number of words otherwise.  Returns the number of words, or -1
 * when the arena is full.
 */
static int
search_plan(struct arena *a, const char *q, struct customer_find *in,
            int *shape)
{
	const char **w[SEARCH_MAX_WORDS] = {&in->w1, &in->w2, &in->w3, &in->w4,
	                                    &in->w5, &in->w6, &in->w7, &in->w8};
	const unsigned char *s = (const unsigned char *)q;
	size_t n = strlen(q), len[SEARCH_MAX_WORDS];
	int words = 0, name_only = 0;
	struct buf b = BUF_INIT(512);

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = utf8_next(s + i, n - i, &c);

		name_only |= search_name_only(c);
		if (search_separator(c) || words == SEARCH_MAX_WORDS) {
			i += k;
			continue;
		}
		/*
		 * One word as a LIKE prefix, without the combining marks
		 * U+0300..U+036F (the words of 0016 have none: "bu\u0301di" is
		 * "budi", as "b\u00fadi" is under the collation).  A word of
		 * marks alone is no word.
		 */
		buf_reset(&b);
		for (; i < n; i += k) {
			k = utf8_next(s + i, n - i, &c);
			if (search_separator(c))
				break;
			name_only |= search_name_only(c);
			if (c < 0x300 || c > 0x36F)
				like_escape(&b, q + i, k);
		}
		if (!b.len)
			continue;
		len[words] = b.len;
		buf_addch(&b, '%');
		*w[words] = arena_strdup(a, b.s);
		if (!*w[words])
			goto out_nomem;
		words++;
	}
	/* The longest word first: it is the rarest prefix, as a rule. */
	for (int i = 1; i < words; i++) {
		for (int j = i; j > 0 && len[j] > len[j - 1]; j--) {
			const char *t = *w[j];
			size_t l = len[j];

			*w[j] = *w[j - 1];
			*w[j - 1] = t;
			len[j] = len[j - 1];
			len[j - 1] = l;
		}
	}
	/*
	 * Missing words repeat the first (see SEARCH_ANY); no word at all is
	 * an empty range.  Never NULL: MariaDB would read the tenant.
	 */
	if (!words)
		in->w1 = "";
	for (int i = words ? words : 1; i < SEARCH_MAX_WORDS; i++)
		*w[i] = in->w1;
	buf_reset(&b);
	like_escape(&b, q, n);
	buf_addch(&b, '%');
	in->q = q;
	in->like = arena_strdup(a, b.s);
	buf_release(&b);
	if (!in->like)
		return -1;
	if (strchr(q, '@'))
		*shape = words >= 2 ? SHAPE_MAIL : SHAPE_ANY2;
	else if (words == 1 && name_only)
		*shape = SHAPE_ONE;
	else
		*shape = words <= 2 ? SHAPE_ANY2 : SHAPE_ANY8;
	return words;

out_nomem:
	buf_release(&b);
	return -1;
}

static int
customer_fetch(struct tdb *t, const struct store_list *l, const void *filter,
               size_t sort, int64_t limit, int64_t offset, struct rows *out,
               int64_t *total)
{
	const struct customer_filter *f = filter;
	struct customer_find in = {.status = f->status,
	                           .service_plan_id = f->service_plan_id,
	                           .router_id = f->router_id};
	int filtered = f->status || f->service_plan_id || f->router_id;
	const struct stmt_def *page, *count = &S[S_COUNT];
	const struct customer *first;
	struct db_count n;

	(void)l;
	page = filtered ? &S[S_LIST] : &S[S_LIST_ALL];
	if (f->q) {
		int shape, k;

		if (search_plan(tdb_arena(t), f->q, &in, &shape) < 0)
			return -1;
		k = S_SEARCH + 3 * shape;
		page = &S[!filtered && sort < SEARCH_ID_SORTS ? k : k + 1];
		count = &S[k + 2];
	}
	if (tdb_list(t, page, sort, limit, offset, &in, out) < 0)
		return -1;
	/*
	 * A page that is not full, and not empty (or the first), ends the
	 * list: the total follows without counting.  Otherwise the rows
	 * carry it (total_count) unless the page is empty.
	 */
	if ((int64_t)out->n < limit && (out->n > 0 || offset == 0)) {
		*total = offset + (int64_t)out->n;
		return 0;
	}
	first = out->n ? rows_at(out, 0) : NULL;
	if (first && (f->q || (!f->service_plan_id && !f->router_id))) {
		*total = first->total_count;
		return 0;
	}
	if (tdb_one(t, count, &in, &n) < 0)
		return -1;
	*total = n.n;
	return 0;
}

const struct store_list store_customer_list = {
    .row = &customer_row,
    .filter_size = sizeof(struct customer_filter),
    .sorts = customer_sorts,
    .fetch = customer_fetch,
};

static int
one(struct tdb *t, int k, int64_t id, struct customer *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[k], &in, out);
}

int
store_customer_get(struct tdb *t, int64_t id, struct customer *out)
{
	return one(t, S_GET, id, out);
}

int
store_customer_lock(struct tdb *t, int64_t id, struct customer *out)
{
	return one(t, S_LOCK, id, out);
}

/* The writing statements' values of c. */
static void
customer_values(struct customer_in *in, const struct customer *c)
{
	in->id = c->id;
	in->customer_code = c->customer_code;
	in->name = c->name;
	in->phone = c->phone;
	in->email = c->email;
	in->address = c->address;
	in->service_plan_id = c->service_plan_id;
	in->router_id = c->router_id;
	in->pppoe_username = c->pppoe_username;
	in->monthly_price = c->monthly_price;
	in->billing_day = c->billing_day;
	in->installed_at = c->installed_at;
	in->notes = c->notes;
}

int
store_customer_insert(struct tdb *t, const struct customer *c, int64_t *id)
{
	struct customer_in in = {0};
	struct rows res;

	customer_values(&in, c);
	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_customer_update(struct tdb *t, const struct customer *c)
{
	struct customer_in in = {0};

	customer_values(&in, c);
	return tdb_exec(t, &S[S_UPDATE], &in, NULL);
}

int
store_customer_set_password(struct tdb *t, int64_t id, const unsigned char *p,
                            size_t n)
{
	struct customer_in in = {.id = id, .password = {p, n}};

	return tdb_exec(t, &S[S_SET_PASSWORD], &in, NULL);
}

int
store_customer_set_status(struct tdb *t, int64_t id, const char *status)
{
	struct customer_in in = {.id = id, .status = status};

	return tdb_exec(t, &S[S_SET_STATUS], &in, NULL);
}

int
store_customer_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_DELETE], &in, NULL);
}

int
store_customer_counts(struct tdb *t, struct customer_counts *out)
{
	int rc = tdb_one(t, &S[S_COUNTS], NULL, out);

	if (rc == 0) {
		out->pending = out->active = 0;
		out->suspended = out->terminated = 0;
	}
	return rc < 0 ? -1 : 0;
}

int
store_customer_queue_job(struct tdb *t, int64_t customer_id, int64_t router_id,
                         const char *action, const char *payload)
{
	struct customer_in in = {.customer_id = customer_id,
	                         .router_id = router_id,
	                         .action = action,
	                         .payload = payload};

	if (tdb_exec(t, &S[S_JOB_INSERT], &in, NULL) < 0)
		return -1;
	return tdb_exec(t, &S[S_JOB_PENDING], &in, NULL);
}

int
store_customer_set_router_state(struct tdb *t, int64_t id, const char *state,
                                const char *error)
{
	struct customer_in in = {
	    .id = id, .router_state = state, .router_error = error};

	return tdb_exec(t, &S[S_ROUTER_STATE], &in, NULL);
}

int
store_customer_secret(struct tdb *t, int64_t id, struct customer_secret *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_SECRET], &in, out);
}

int
store_customer_on_router(struct tdb *t, int64_t router_id, struct rows *out)
{
	struct customer_in in = {.router_id = router_id};

	return tdb_exec(t, &S[S_ON_ROUTER], &in, out);
}

int
store_customer_import(struct tdb *t, const struct customer *c, int64_t *id)
{
	struct customer_in in = {0};
	struct rows res;

	customer_values(&in, c);
	in.status = c->status;
	if (tdb_exec(t, &S[S_IMPORT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_customer_router_result(struct tdb *t, int64_t id, const char *state,
                             const char *error)
{
	struct customer_in in = {
	    .id = id, .router_state = state, .router_error = error};

	return tdb_exec(t, &S[S_ROUTER_RESULT], &in, NULL);
}

int
store_customer_lock_any(struct tdb *t, int64_t id)
{
	struct db_id in = {id};
	struct db_count n;

	return tdb_one(t, &S[S_LOCK_ANY], &in, &n);
}

int
store_customer_on_plan(struct tdb *t, int64_t plan_id, struct rows *out)
{
	struct customer_in in = {.service_plan_id = plan_id};

	return tdb_exec(t, &S[S_ON_PLAN], &in, out);
}
