/*
 * Service plans and their price history.  Plans are soft-deleted
 * (deleted_at) because customers, deleted ones included, and the price
 * history keep pointing at them.  The history gets a row when a plan is
 * created (old_price NULL) and on every change of price.
 */
#include "store/store.h"

#define PLAN_COLS                                                              \
	"id, name, speed_download, speed_upload, price, active,"               \
	" burst_download, burst_upload, burst_threshold_download,"             \
	" burst_threshold_upload, burst_time, priority, queue_type,"           \
	" mikrotik_profile, created_at, updated_at"

static const char *const plan_orders[] = {
    "name ASC, id ASC",
    "name DESC, id DESC",
    "price ASC, id ASC",
    "price DESC, id DESC",
    "speed_download ASC, id ASC",
    "speed_download DESC, id DESC",
    "created_at ASC, id ASC",
    "created_at DESC, id DESC",
    "id ASC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_plan_stmts[] = {
	[PLAN_GET] = STMT("plan_get", SCOPE_TENANT, "ti",
	     "SELECT " PLAN_COLS " FROM service_plans"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[PLAN_GET_LOCKED] = STMT("plan_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " PLAN_COLS " FROM service_plans"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"
	     " FOR UPDATE"),
	/*
	 * A customer being given a plan holds a shared lock on it until
	 * commit, so that a concurrent delete of the plan waits and then
	 * sees the customer (and answers 409 in_use).
	 */
	[PLAN_GET_SHARED] = STMT("plan_get_shared", SCOPE_TENANT, "ti",
	     "SELECT " PLAN_COLS " FROM service_plans"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"
	     " LOCK IN SHARE MODE"),
	[PLAN_LIST] = STMT_ORDERED("plan_list", SCOPE_TENANT, "tiii",
	     "SELECT " PLAN_COLS " FROM service_plans"
	     " WHERE tenant_id = ? AND deleted_at IS NULL"
	     " AND (? = 1 OR active = 1)"
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", plan_orders),
	[PLAN_COUNT] = STMT("plan_count", SCOPE_TENANT, "ti",
	     "SELECT COUNT(*) FROM service_plans"
	     " WHERE tenant_id = ? AND deleted_at IS NULL"
	     " AND (? = 1 OR active = 1)"),
	[PLAN_INSERT] = STMT("plan_insert", SCOPE_TENANT, "tsiidiiiiiiiss",
	     "INSERT INTO service_plans (tenant_id, name, speed_download,"
	     " speed_upload, price, active, burst_download, burst_upload,"
	     " burst_threshold_download, burst_threshold_upload, burst_time,"
	     " priority, queue_type, mikrotik_profile)"
	     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
	[PLAN_UPDATE] = STMT("plan_update", SCOPE_TENANT, "siidiiiiiiissti",
	     "UPDATE service_plans SET name = ?, speed_download = ?,"
	     " speed_upload = ?, price = ?, active = ?, burst_download = ?,"
	     " burst_upload = ?, burst_threshold_download = ?,"
	     " burst_threshold_upload = ?, burst_time = ?, priority = ?,"
	     " queue_type = ?, mikrotik_profile = ?"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[PLAN_DELETE] = STMT("plan_delete", SCOPE_TENANT, "ti",
	     "UPDATE service_plans SET deleted_at = UTC_TIMESTAMP(), active = 0"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[PLAN_IN_USE] = STMT("plan_in_use", SCOPE_TENANT, "ti",
	     "SELECT COUNT(*) FROM customers WHERE tenant_id = ?"
	     " AND service_plan_id = ? AND deleted_at IS NULL"),
	[PLAN_HISTORY_INSERT] = STMT("plan_history_insert", SCOPE_TENANT, "tiddi",
	     "INSERT INTO plan_price_history (tenant_id, service_plan_id,"
	     " old_price, new_price, changed_by) VALUES (?, ?, ?, ?, NULLIF(?, 0))"),
	[PLAN_HISTORY_LIST] = STMT("plan_history_list", SCOPE_TENANT, "tiii",
	     "SELECT id, service_plan_id, old_price, new_price, changed_by,"
	     " changed_at FROM plan_price_history"
	     " WHERE tenant_id = ? AND service_plan_id = ?"
	     " ORDER BY changed_at DESC, id DESC LIMIT ? OFFSET ?"),
	[PLAN_HISTORY_COUNT] = STMT("plan_history_count", SCOPE_TENANT, "ti",
	     "SELECT COUNT(*) FROM plan_price_history"
	     " WHERE tenant_id = ? AND service_plan_id = ?"),
	[PLAN__MAX] = STMT_END
};
/* clang-format on */

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
	const struct stmt_def *P = store_plan_stmts;

	for (size_t i = 0; i < sizeof(default_plans) / sizeof(default_plans[0]);
	     i++) {
		struct dbres ins;

		if (tdb_query(t, &P[PLAN_INSERT],
		              DB_ARGS(DBS(default_plans[i].name),
		                      DBI(default_plans[i].down),
		                      DBI(default_plans[i].up),
		                      DBD(default_plans[i].price), DBI(1),
		                      DBNULL('i'), DBNULL('i'), DBNULL('i'),
		                      DBNULL('i'), DBNULL('i'), DBI(8),
		                      DBS("default"),
		                      DBS(default_plans[i].profile)),
		              &ins) < 0 ||
		    tdb_query(t, &P[PLAN_HISTORY_INSERT],
		              DB_ARGS(DBI((int64_t)ins.insert_id), DBNULL('d'),
		                      DBD(default_plans[i].price), DBI(0)),
		              NULL) < 0)
			return -1;
	}
	return 0;
}
