#include "store/boost.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "json.h"
#include "store/customer.h"
#include "store/list.h"

/* clang-format off */
static const struct col boost_cols[] = {
	COL_INT(struct boost, id, 0),
	COL_INT(struct boost, customer_id, 0),
	COL_INT(struct boost, boost_plan_id, 0),
	COL_INT(struct boost, base_plan_id, 0),
	COL_INT(struct boost, duration_hours, 0),
	COL_DEC(struct boost, price, 0),
	COL_STR(struct boost, status, 0),
	COL_TIME(struct boost, requested_at, 0),
	COL_INT(struct boost, requested_by, COL_F_NULL),
	COL_INT(struct boost, decided_by, COL_F_NULL),
	COL_TIME(struct boost, start_at, COL_F_NULL),
	COL_TIME(struct boost, end_at, COL_F_NULL),
	COL_STR(struct boost, rejection_reason, COL_F_NULL),
	COL_TIME(struct boost, created_at, 0),
	COL_TIME(struct boost, updated_at, 0),
	COL_END
};
const struct rowtype boost_row = ROWTYPE(struct boost, "speed_boost", boost_cols);

static const struct col boost_filter_cols[] = {
	COL_INT(struct boost_filter, customer_id, COL_F_NULL),
	COL_STR(struct boost_filter, status, COL_F_NULL),
	COL_END
};
static const struct rowtype boost_filter_in =
    ROWTYPE(struct boost_filter, "speed_boost_filter", boost_filter_cols);

/* What the writing statements bind. */
struct boost_in {
	int64_t id, customer_id, boost_plan_id, base_plan_id, duration_hours;
	int64_t user_id;
	const char *price, *reason;
};
static const struct col boost_in_cols[] = {
	COL_INT(struct boost_in, id, 0),
	COL_INT(struct boost_in, customer_id, 0),
	COL_INT(struct boost_in, boost_plan_id, 0),
	COL_INT(struct boost_in, base_plan_id, 0),
	COL_INT(struct boost_in, duration_hours, 0),
	COL_INT(struct boost_in, user_id, COL_F_NULL),
	COL_DEC(struct boost_in, price, 0),
	COL_STR(struct boost_in, reason, COL_F_NULL),
	COL_END
};
static const struct rowtype boost_in =
    ROWTYPE(struct boost_in, "speed_boost_in", boost_in_cols);

/*
 * The effective plan's question: customer id, the boost that counts
 * whatever it is (include) or not at all (exclude), 0 for none (ids are
 * positive), and the moment (NULL: the database's clock).
 */
struct plan_with_in {
	int64_t id, include, exclude;
	const char *now;
};
static const struct col plan_with_in_cols[] = {
	COL_INT(struct plan_with_in, id, 0),
	COL_INT(struct plan_with_in, include, 0),
	COL_INT(struct plan_with_in, exclude, 0),
	COL_TIME(struct plan_with_in, now, COL_F_NULL),
	COL_END
};
static const struct rowtype plan_with_in =
    ROWTYPE(struct plan_with_in, "speed_boost_plan_in", plan_with_in_cols);

struct effective {
	int64_t plan_id;
};
static const struct col effective_cols[] = {
	COL_INT(struct effective, plan_id, 0),
	COL_END
};
static const struct rowtype effective_row =
    ROWTYPE(struct effective, "effective_plan", effective_cols);

struct due_in {
	const char *now;
	int64_t after;
};
static const struct col due_in_cols[] = {
	COL_TIME(struct due_in, now, 0),
	COL_INT(struct due_in, after, 0),
	COL_END
};
static const struct rowtype due_in =
    ROWTYPE(struct due_in, "speed_boost_due_in", due_in_cols);

static const struct col due_cols[] = {
	COL_INT(struct boost_due, id, 0),
	COL_INT(struct boost_due, tenant_id, 0),
	COL_INT(struct boost_due, customer_id, 0),
	COL_TIME(struct boost_due, end_at, 0),
	COL_END
};
const struct rowtype boost_due_row =
    ROWTYPE(struct boost_due, "speed_boost_due", due_cols);

/*
 * end_at sorts put boosts without one (pending, rejected) last, so that
 * "end_at" lists what ends next first.
 */
static const struct sort_def boost_sorts[] = {
	{ "-requested_at", "requested_at DESC, id DESC" },
	{ "requested_at", "requested_at ASC, id ASC" },
	{ "end_at", "end_at IS NULL, end_at ASC, id ASC" },
	{ "-end_at", "end_at IS NULL, end_at DESC, id DESC" },
	{ "price", "price ASC, id ASC" },
	{ "-price", "price DESC, id DESC" },
	{ NULL, NULL }
};

#define BOOST_FILTER " WHERE tenant_id = :tenant" \
	" AND (:customer_id IS NULL OR customer_id = :customer_id)" \
	" AND (:status IS NULL OR status = :status)"

#define BOOST_ONE " FROM speed_boosts WHERE tenant_id = :tenant AND id = :id"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_INSERT, S_APPROVE, S_REJECT,
	S_CANCEL, S_EXPIRE, S_PLAN_WITH, S_DUE, S_DUE_TENANT,
};

const struct stmt_def store_boost_stmts[] = {
	[S_GET] = { "boost_get", SCOPE_TENANT, "SELECT {COLS}" BOOST_ONE,
	     &db_id_in, &boost_row, NULL },
	[S_LOCK] = { "boost_lock", SCOPE_TENANT,
	     "SELECT {COLS}" BOOST_ONE " FOR UPDATE",
	     &db_id_in, &boost_row, NULL },
	[S_LIST] = { "boost_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM speed_boosts" BOOST_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &boost_filter_in, &boost_row, boost_sorts },
	[S_COUNT] = { "boost_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM speed_boosts" BOOST_FILTER,
	     &boost_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "boost_insert", SCOPE_TENANT,
	     "INSERT INTO speed_boosts (tenant_id, customer_id,"
	     " boost_plan_id, base_plan_id, duration_hours, price,"
	     " requested_by, requested_at)"
	     " VALUES (:tenant, :customer_id, :boost_plan_id, :base_plan_id,"
	     " :duration_hours, :price, :user_id, UTC_TIMESTAMP())",
	     &boost_in, NULL, NULL },
	/* One UTC_TIMESTAMP() per statement: end_at is exactly start_at + h. */
	[S_APPROVE] = { "boost_approve", SCOPE_TENANT,
	     "UPDATE speed_boosts SET status = 'active',"
	     " start_at = UTC_TIMESTAMP(),"
	     " end_at = UTC_TIMESTAMP() + INTERVAL duration_hours HOUR,"
	     " decided_by = :user_id"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'pending'",
	     &boost_in, NULL, NULL },
	[S_REJECT] = { "boost_reject", SCOPE_TENANT,
	     "UPDATE speed_boosts SET status = 'rejected',"
	     " rejection_reason = :reason, decided_by = :user_id"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'pending'",
	     &boost_in, NULL, NULL },
	/*
	 * MariaDB assigns left to right and later assignments see earlier
	 * ones, so end_at is computed while status is still the old one.
	 */
	[S_CANCEL] = { "boost_cancel", SCOPE_TENANT,
	     "UPDATE speed_boosts SET end_at = IF(status = 'active',"
	     " LEAST(end_at, UTC_TIMESTAMP()), end_at), status = 'cancelled'"
	     " WHERE tenant_id = :tenant AND id = :id"
	     " AND status IN ('pending', 'active')",
	     &db_id_in, NULL, NULL },
	[S_EXPIRE] = { "boost_expire", SCOPE_TENANT,
	     "UPDATE speed_boosts SET status = 'expired'"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'active'",
	     &db_id_in, NULL, NULL },
	/*
	 * The customer's plan unless a counted boost is at least as fast by
	 * download; a boost past end_at no longer counts even before the
	 * expiry job has run.
	 */
	[S_PLAN_WITH] = { "boost_plan_with", SCOPE_TENANT,
	     "SELECT COALESCE((SELECT b.boost_plan_id FROM speed_boosts b"
	     " JOIN service_plans p ON p.tenant_id = b.tenant_id"
	     " AND p.id = b.boost_plan_id"
	     " WHERE b.tenant_id = :tenant AND b.customer_id = c.id"
	     " AND ((b.status = 'active'"
	     " AND b.end_at > CAST(COALESCE(:now, UTC_TIMESTAMP()) AS DATETIME)"
	     " AND b.id <> :exclude) OR b.id = :include)"
	     " AND p.speed_download >= (SELECT o.speed_download"
	     " FROM service_plans o WHERE o.tenant_id = :tenant"
	     " AND o.id = c.service_plan_id)"
	     " ORDER BY p.speed_download DESC, b.id LIMIT 1),"
	     " c.service_plan_id) AS plan_id FROM customers c"
	     " WHERE c.tenant_id = :tenant AND c.id = :id"
	     " AND c.deleted_at IS NULL",
	     &plan_with_in, &effective_row, NULL },
	/* ix_speed_boosts_status_end serves the expiry job's scan. */
	[S_DUE] = { "boost_due", SCOPE_GLOBAL,
	     "SELECT id, tenant_id, customer_id, end_at FROM speed_boosts"
	     " WHERE status = 'active' AND end_at <= :now AND id > :after"
	     " ORDER BY id LIMIT :limit",
	     &due_in, &boost_due_row, NULL },
	[S_DUE_TENANT] = { "boost_due_tenant", SCOPE_TENANT,
	     "SELECT id, tenant_id, customer_id, end_at FROM speed_boosts"
	     " WHERE tenant_id = :tenant AND status = 'active'"
	     " AND end_at <= :now AND id > :after"
	     " ORDER BY id LIMIT :limit",
	     &due_in, &boost_due_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_boost_stmts;

const struct store_list store_boost_list = {
    .row = &boost_row,
    .filter_size = sizeof(struct boost_filter),
    .sorts = boost_sorts,
    .page = &store_boost_stmts[S_LIST],
    .count = &store_boost_stmts[S_COUNT],
};

int
store_boost_get(struct tdb *t, int64_t id, struct boost *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_boost_lock(struct tdb *t, int64_t id, struct boost *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_boost_insert(struct tdb *t, const struct boost *b, int64_t *id)
{
	struct boost_in in = {.customer_id = b->customer_id,
	                      .boost_plan_id = b->boost_plan_id,
	                      .base_plan_id = b->base_plan_id,
	                      .duration_hours = b->duration_hours,
	                      .user_id = b->requested_by,
	                      .price = b->price};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

/* Runs one status move on boost id; 1 changed, 0 not, -1 error. */
static int
move(struct tdb *t, const struct stmt_def *def, const void *in)
{
	struct rows res;

	if (tdb_exec(t, def, in, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_boost_approve(struct tdb *t, int64_t id, int64_t user_id)
{
	struct boost_in in = {.id = id, .user_id = user_id};

	return move(t, &S[S_APPROVE], &in);
}

int
store_boost_reject(struct tdb *t, int64_t id, int64_t user_id,
                   const char *reason)
{
	struct boost_in in = {.id = id, .user_id = user_id, .reason = reason};

	return move(t, &S[S_REJECT], &in);
}

int
store_boost_cancel(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return move(t, &S[S_CANCEL], &in);
}

int
store_boost_expire(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return move(t, &S[S_EXPIRE], &in);
}

int
store_boost_plan_with(struct tdb *t, int64_t customer_id, int64_t boost_id,
                      int counted, const char *now, int64_t *plan_id)
{
	struct plan_with_in in = {.id = customer_id,
	                          .include = counted ? boost_id : 0,
	                          .exclude = counted ? 0 : boost_id,
	                          .now = now};
	struct effective e;
	int rc = tdb_one(t, &S[S_PLAN_WITH], &in, &e);

	if (rc == 1)
		*plan_id = e.plan_id;
	return rc;
}

int
store_boost_effective_plan(struct tdb *t, int64_t customer_id, int64_t *plan_id)
{
	return store_boost_plan_with(t, customer_id, 0, 0, NULL, plan_id);
}

int
store_boost_queue_change(struct tdb *t, const struct boost *b,
                         const struct customer *c, const char *now,
                         const char *reason)
{
	int64_t with, without;
	cJSON *p;
	char *text;
	int rc;

	/*
	 * A pending, suspended or terminated customer has no session to
	 * change: activation applies the effective plan of its own moment.
	 */
	if (c->router_id == 0 || strcmp(c->status, "active") != 0)
		return 0;
	if ((rc = store_boost_plan_with(t, c->id, b->id, 1, now, &with)) != 1 ||
	    (rc = store_boost_plan_with(t, c->id, b->id, 0, now, &without)) !=
	        1)
		return rc < 0 ? -1 : 0;
	if (with == without)
		return 0;
	p = cJSON_CreateObject();
	if (!p)
		return -1;
	json_add_int(p, "customer_id", c->id);
	cJSON_AddStringToObject(p, "customer_code", c->customer_code);
	json_add_str_or_null(p, "pppoe_username", c->pppoe_username);
	json_add_int(p, "speed_boost_id", b->id);
	cJSON_AddStringToObject(p, "reason", reason);
	text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	if (!text)
		return -1;
	rc = store_customer_queue_job(t, c->id, c->router_id, "change_profile",
	                              text);
	cJSON_free(text);
	return rc < 0 ? -1 : 1;
}

int
store_boost_due(struct db *db, struct arena *a, const char *now, int64_t after,
                int64_t limit, struct rows *out)
{
	struct due_in in = {.now = now, .after = after};

	return db_list(db, a, &S[S_DUE], 0, limit, 0, &in, out);
}

int
store_boost_due_tenant(struct tdb *t, const char *now, int64_t after,
                       int64_t limit, struct rows *out)
{
	struct due_in in = {.now = now, .after = after};

	return tdb_list(t, &S[S_DUE_TENANT], 0, limit, 0, &in, out);
}
