#include "store/plan.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col plan_cols[] = {
	COL_INT(struct plan, id, 0),
	COL_STR(struct plan, name, 0),
	COL_INT(struct plan, speed_download, 0),
	COL_INT(struct plan, speed_upload, 0),
	COL_DEC(struct plan, price, 0),
	COL_BOOL(struct plan, active, 0),
	COL_INT(struct plan, burst_download, COL_F_NULL),
	COL_INT(struct plan, burst_upload, COL_F_NULL),
	COL_INT(struct plan, burst_threshold_download, COL_F_NULL),
	COL_INT(struct plan, burst_threshold_upload, COL_F_NULL),
	COL_INT(struct plan, burst_time, COL_F_NULL),
	COL_INT(struct plan, priority, 0),
	COL_STR(struct plan, queue_type, 0),
	COL_STR(struct plan, mikrotik_profile, 0),
	COL_TIME(struct plan, created_at, 0),
	COL_TIME(struct plan, updated_at, 0),
	COL_END
};
const struct rowtype plan_row = ROWTYPE(struct plan, "service_plan", plan_cols);

static const struct col plan_filter_cols[] = {
	COL_BOOL(struct plan_filter, include_inactive, 0),
	COL_END
};
static const struct rowtype plan_filter_in =
    ROWTYPE(struct plan_filter, "plan_filter", plan_filter_cols);

static const struct col plan_price_cols[] = {
	COL_INT(struct plan_price, id, 0),
	COL_INT(struct plan_price, service_plan_id, 0),
	COL_DEC(struct plan_price, old_price, COL_F_NULL),
	COL_DEC(struct plan_price, new_price, 0),
	COL_INT(struct plan_price, changed_by, COL_F_NULL),
	COL_TIME(struct plan_price, changed_at, 0),
	COL_END
};
const struct rowtype plan_price_row =
    ROWTYPE(struct plan_price, "plan_price", plan_price_cols);

static const struct col plan_price_filter_cols[] = {
	COL_INT(struct plan_price_filter, service_plan_id, 0),
	COL_END
};
static const struct rowtype plan_price_filter_in = ROWTYPE(
    struct plan_price_filter, "plan_price_filter", plan_price_filter_cols);

/* A price change: the plan's id in service_plan_id. */
static const struct col plan_price_in_cols[] = {
	COL_INT(struct plan_price, service_plan_id, 0),
	COL_DEC(struct plan_price, old_price, COL_F_NULL),
	COL_DEC(struct plan_price, new_price, 0),
	COL_INT(struct plan_price, changed_by, COL_F_NULL),
	COL_END
};
static const struct rowtype plan_price_in =
    ROWTYPE(struct plan_price, "plan_price_in", plan_price_in_cols);

static const struct sort_def plan_sorts[] = {
	{ "name", "name ASC, id ASC" },
	{ "-name", "name DESC, id DESC" },
	{ "price", "price ASC, id ASC" },
	{ "-price", "price DESC, id DESC" },
	{ "speed_download", "speed_download ASC, id ASC" },
	{ "-speed_download", "speed_download DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "id", "id ASC" },
	{ NULL, NULL }
};

static const struct sort_def plan_price_sorts[] = {
	{ "-changed_at", "changed_at DESC, id DESC" },
	{ NULL, NULL }
};

#define PLAN_LIVE " FROM service_plans" \
	" WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL"
#define PLAN_FILTER " FROM service_plans" \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND (:include_inactive = 1 OR active = 1)"

enum {
	S_GET, S_LOCK, S_SHARE, S_LIST, S_COUNT, S_INSERT, S_UPDATE,
	S_DELETE, S_USERS, S_PRICE_INSERT, S_PRICE_LIST, S_PRICE_COUNT,
};

const struct stmt_def store_plan_stmts[] = {
	[S_GET] = { "plan_get", SCOPE_TENANT, "SELECT {COLS}" PLAN_LIVE,
	     &db_id_in, &plan_row, NULL },
	[S_LOCK] = { "plan_lock", SCOPE_TENANT,
	     "SELECT {COLS}" PLAN_LIVE " FOR UPDATE",
	     &db_id_in, &plan_row, NULL },
	[S_SHARE] = { "plan_share", SCOPE_TENANT,
	     "SELECT {COLS}" PLAN_LIVE " LOCK IN SHARE MODE",
	     &db_id_in, &plan_row, NULL },
	[S_LIST] = { "plan_list", SCOPE_TENANT,
	     "SELECT {COLS}" PLAN_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &plan_filter_in, &plan_row, plan_sorts },
	[S_COUNT] = { "plan_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n" PLAN_FILTER,
	     &plan_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "plan_insert", SCOPE_TENANT,
	     "INSERT INTO service_plans (tenant_id, name, speed_download,"
	     " speed_upload, price, active, burst_download, burst_upload,"
	     " burst_threshold_download, burst_threshold_upload, burst_time,"
	     " priority, queue_type, mikrotik_profile)"
	     " VALUES (:tenant, :name, :speed_download, :speed_upload, :price,"
	     " :active, :burst_download, :burst_upload,"
	     " :burst_threshold_download, :burst_threshold_upload,"
	     " :burst_time, :priority, :queue_type, :mikrotik_profile)",
	     &plan_row, NULL, NULL },
	[S_UPDATE] = { "plan_update", SCOPE_TENANT,
	     "UPDATE service_plans SET name = :name,"
	     " speed_download = :speed_download, speed_upload = :speed_upload,"
	     " price = :price, active = :active,"
	     " burst_download = :burst_download, burst_upload = :burst_upload,"
	     " burst_threshold_download = :burst_threshold_download,"
	     " burst_threshold_upload = :burst_threshold_upload,"
	     " burst_time = :burst_time, priority = :priority,"
	     " queue_type = :queue_type, mikrotik_profile = :mikrotik_profile"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &plan_row, NULL, NULL },
	[S_DELETE] = { "plan_delete", SCOPE_TENANT,
	     "UPDATE service_plans SET deleted_at = UTC_TIMESTAMP(), active = 0"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, NULL, NULL },
	[S_USERS] = { "plan_users", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM customers WHERE tenant_id = :tenant"
	     " AND service_plan_id = :id AND deleted_at IS NULL",
	     &db_id_in, &db_count_row, NULL },
	[S_PRICE_INSERT] = { "plan_price_insert", SCOPE_TENANT,
	     "INSERT INTO plan_price_history (tenant_id, service_plan_id,"
	     " old_price, new_price, changed_by) VALUES (:tenant,"
	     " :service_plan_id, :old_price, :new_price, :changed_by)",
	     &plan_price_in, NULL, NULL },
	[S_PRICE_LIST] = { "plan_price_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM plan_price_history"
	     " WHERE tenant_id = :tenant AND service_plan_id = :service_plan_id"
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &plan_price_filter_in, &plan_price_row, plan_price_sorts },
	[S_PRICE_COUNT] = { "plan_price_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM plan_price_history"
	     " WHERE tenant_id = :tenant AND service_plan_id = :service_plan_id",
	     &plan_price_filter_in, &db_count_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_plan_stmts;

const struct store_list store_plan_list = {
    .row = &plan_row,
    .filter_size = sizeof(struct plan_filter),
    .sorts = plan_sorts,
    .page = &store_plan_stmts[S_LIST],
    .count = &store_plan_stmts[S_COUNT],
};

const struct store_list store_plan_price_list = {
    .row = &plan_price_row,
    .filter_size = sizeof(struct plan_price_filter),
    .sorts = plan_price_sorts,
    .page = &store_plan_stmts[S_PRICE_LIST],
    .count = &store_plan_stmts[S_PRICE_COUNT],
};

static int
one(struct tdb *t, int k, int64_t id, struct plan *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[k], &in, out);
}

int
store_plan_get(struct tdb *t, int64_t id, struct plan *out)
{
	return one(t, S_GET, id, out);
}

int
store_plan_lock(struct tdb *t, int64_t id, struct plan *out)
{
	return one(t, S_LOCK, id, out);
}

int
store_plan_share(struct tdb *t, int64_t id, struct plan *out)
{
	return one(t, S_SHARE, id, out);
}

int
store_plan_price_changed(struct tdb *t, int64_t id, const char *old_price,
                         const char *new_price, int64_t changed_by)
{
	struct plan_price in = {.service_plan_id = id,
	                        .old_price = old_price,
	                        .new_price = new_price,
	                        .changed_by = changed_by};

	return tdb_exec(t, &S[S_PRICE_INSERT], &in, NULL);
}

int
store_plan_insert(struct tdb *t, const struct plan *p, int64_t changed_by,
                  int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], p, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return store_plan_price_changed(t, *id, NULL, p->price, changed_by);
}

int
store_plan_update(struct tdb *t, const struct plan *p)
{
	return tdb_exec(t, &S[S_UPDATE], p, NULL);
}

int
store_plan_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_DELETE], &in, NULL);
}

int
store_plan_users(struct tdb *t, int64_t id, int64_t *n)
{
	struct db_id in = {id};
	struct db_count c;

	if (tdb_one(t, &S[S_USERS], &in, &c) < 0)
		return -1;
	*n = c.n;
	return 0;
}

/* The plans every new tenant starts with (API.md: default seed data). */
static const struct {
	const char *name, *profile, *price;
	int64_t down, up;
} default_plans[] = {
    {"Paket 10 Mbps", "paket-10-mbps", "150000.00", 10000, 5000},
    {"Paket 20 Mbps", "paket-20-mbps", "250000.00", 20000, 10000},
    {"Paket 30 Mbps", "paket-30-mbps", "350000.00", 30000, 15000},
    {"Paket 50 Mbps", "paket-50-mbps", "500000.00", 50000, 25000},
};

int
store_plan_seed(struct tdb *t)
{
	for (size_t i = 0; i < sizeof(default_plans) / sizeof(default_plans[0]);
	     i++) {
		struct plan p = {.name = default_plans[i].name,
		                 .speed_download = default_plans[i].down,
		                 .speed_upload = default_plans[i].up,
		                 .price = default_plans[i].price,
		                 .active = 1,
		                 .priority = 8,
		                 .queue_type = "default",
		                 .mikrotik_profile = default_plans[i].profile};
		int64_t id;

		if (store_plan_insert(t, &p, 0, &id) < 0)
			return -1;
	}
	return 0;
}
