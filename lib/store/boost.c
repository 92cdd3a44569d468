#include "store/boost.h"

#include "db.h"

/* clang-format off */
struct effective {
	int64_t plan_id;
};
static const struct col effective_cols[] = {
	COL_INT(struct effective, plan_id, 0),
	COL_END
};
static const struct rowtype effective_row =
    ROWTYPE(struct effective, "effective_plan", effective_cols);

enum { S_EFFECTIVE };

const struct stmt_def store_boost_stmts[] = {
	/*
	 * The customer's plan unless an active boost is faster; a boost past
	 * end_at no longer counts even before the expiry job has run.
	 */
	[S_EFFECTIVE] = { "boost_effective_plan", SCOPE_TENANT,
	     "SELECT COALESCE((SELECT b.boost_plan_id FROM speed_boosts b"
	     " JOIN service_plans p ON p.tenant_id = b.tenant_id"
	     " AND p.id = b.boost_plan_id"
	     " WHERE b.tenant_id = :tenant AND b.customer_id = c.id"
	     " AND b.status = 'active' AND b.end_at > UTC_TIMESTAMP()"
	     " ORDER BY p.speed_download DESC, b.id LIMIT 1),"
	     " c.service_plan_id) AS plan_id FROM customers c"
	     " WHERE c.tenant_id = :tenant AND c.id = :id"
	     " AND c.deleted_at IS NULL",
	     &db_id_in, &effective_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

int
store_boost_effective_plan(struct tdb *t, int64_t customer_id, int64_t *plan_id)
{
	struct db_id in = {customer_id};
	struct effective e;
	int rc = tdb_one(t, &store_boost_stmts[S_EFFECTIVE], &in, &e);

	if (rc == 1)
		*plan_id = e.plan_id;
	return rc;
}
