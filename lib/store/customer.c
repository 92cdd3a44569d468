/*
 * What a tenant with 10,000 customers costs (sql/mysql/0006):
 *  - A list page reads per_page entries of an index leading with
 *    (tenant_id, deleted_at) in the sort's order; FORCE INDEX names it,
 *    because MariaDB's index dives over customers' many indexes cost
 *    more than reading the page.
 *  - Totals and GET /customers/stats come from customer_counts, one row
 *    per tenant that triggers keep in the writing transaction, so nothing
 *    counts 10,000 index entries per request.  The list carries its total
 *    as the column total_count (NULL when a plan or router filter makes
 *    the counts row unusable): one statement, one round trip.
 *  - A search is a UNION of four index reads, each bounded by the
 *    tenant: the (tenant_id, customer_code) and (tenant_id, phone)
 *    ranges, the (tenant_id, email) lookup and the name's full-text
 *    match, whose document starts with a tenant token (migration 0007),
 *    joined to customers by primary key for the filters and the sort.
 *    COUNT(*) OVER () gives the total in the same statement.  The token
 *    narrows the full-text engine to the tenant, but its posting list is
 *    the whole tenant: a very large tenant pays for it (issue 13).
 */
#include "store/customer.h"

#include <inttypes.h>

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
	const char *q, *like, *term;
};
static const struct col customer_find_cols[] = {
	COL_STR(struct customer_find, status, COL_F_NULL),
	COL_INT(struct customer_find, service_plan_id, COL_F_NULL),
	COL_INT(struct customer_find, router_id, COL_F_NULL),
	COL_STR(struct customer_find, q, COL_F_NULL),
	COL_STR(struct customer_find, like, COL_F_NULL),
	COL_STR(struct customer_find, term, COL_F_NULL),
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

/* Search ranks a handful of matches: no index to force there. */
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
 * The ids a search matches, as m.match_id (so that the unqualified
 * columns and the sort clauses still name customers).
 */
#define CUSTOMER_MATCH \
	" (SELECT id AS match_id FROM customers" \
	" WHERE tenant_id = :tenant AND customer_code LIKE :like ESCAPE '!'" \
	" UNION SELECT id FROM customers" \
	" WHERE tenant_id = :tenant AND phone LIKE :like ESCAPE '!'" \
	" UNION SELECT id FROM customers" \
	" WHERE tenant_id = :tenant AND email = :q" \
	" UNION SELECT id FROM customers" \
	" WHERE MATCH (search_doc) AGAINST (:term IN BOOLEAN MODE)" \
	" AND tenant_id = :tenant) m" \
	" STRAIGHT_JOIN customers ON id = m.match_id"

#define CUSTOMER_LIVE \
	" FROM customers WHERE tenant_id = :tenant AND id = :id" \
	" AND deleted_at IS NULL"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_SEARCH, S_SEARCH_COUNT, S_INSERT,
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
	[S_LIST] = { "customer_list", SCOPE_TENANT,
	     "SELECT " CUSTOMER_COLS ", IF(:service_plan_id IS NOT NULL"
	     " OR :router_id IS NOT NULL, NULL, (" CUSTOMER_COUNTED "))"
	     " AS total_count FROM customers{INDEX}" CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &customer_find_in, &customer_page_row, customer_sorts },
	[S_COUNT] = { "customer_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM customers" CUSTOMER_FILTER,
	     &customer_find_in, &db_count_row, NULL },
	[S_SEARCH] = { "customer_search", SCOPE_TENANT,
	     "SELECT " CUSTOMER_COLS ", COUNT(*) OVER () AS total_count"
	     " FROM" CUSTOMER_MATCH CUSTOMER_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &customer_find_in, &customer_page_row, customer_search_sorts },
	[S_SEARCH_COUNT] = { "customer_search_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM" CUSTOMER_MATCH CUSTOMER_FILTER,
	     &customer_find_in, &db_count_row, NULL },
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

/* Appends s to b with LIKE's wildcards escaped ('!' is the escape). */
static void
like_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '!')
			buf_addch(b, '!');
		buf_addch(b, *s);
	}
}

/*
 * Builds the boolean-mode term for a name search: the tenant's token
 * (migration 0007), then every word of q as "+word*" (all words must
 * match, each as a prefix).  Only letters and digits (and any non-ASCII
 * byte, so that UTF-8 names work) make up words; everything else, the
 * boolean operators + - < > ( ) ~ * " @ included, separates them, so
 * user input can never change the query's meaning.  The term is bound
 * as a value like any other.  Empty when q has no word: the token alone
 * would match the whole tenant.
 */
static void
fulltext_term(struct buf *b, const char *q, int64_t tenant_id)
{
	int words = 0, in_word = 0;

	buf_addf(b, "+tnt%" PRId64, tenant_id);
	for (const char *s = q; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c >= 0x80;

		if (word && !in_word) {
			if (words == SEARCH_MAX_WORDS)
				break;
			buf_adds(b, " +");
			words++;
		}
		if (!word && in_word)
			buf_addch(b, '*');
		if (word)
			buf_addch(b, (char)c);
		in_word = word;
	}
	if (in_word)
		buf_addch(b, '*');
	if (words == 0)
		buf_reset(b);
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
	const struct stmt_def *page = &S[S_LIST], *count;
	const struct customer *first;
	struct db_count n;

	(void)l;
	if (f->q) {
		struct buf like = BUF_INIT(512), term = BUF_INIT(1024);

		like_escape(&like, f->q);
		buf_addch(&like, '%');
		fulltext_term(&term, f->q, tdb_tenant(t));
		in.q = f->q;
		in.like = arena_strdup(tdb_arena(t), like.s);
		in.term = arena_strdup(tdb_arena(t), term.s);
		buf_release(&like);
		buf_release(&term);
		if (!in.like || !in.term)
			return -1;
		page = &S[S_SEARCH];
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
	count = f->q ? &S[S_SEARCH_COUNT] : &S[S_COUNT];
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
