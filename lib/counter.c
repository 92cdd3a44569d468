#include "counter.h"

/* clang-format off */
const struct stmt_def store_counter_stmts[] = {
	/*
	 * LAST_INSERT_ID(expr) hands the new value back as the statement's
	 * insert id, so no second query (and no race) is needed.
	 */
	STMT("counter_next", SCOPE_TENANT, "ts",
	     "INSERT INTO tenant_counters (tenant_id, name, value)"
	     " VALUES (?, ?, LAST_INSERT_ID(1))"
	     " ON DUPLICATE KEY UPDATE value = LAST_INSERT_ID(value + 1)"),
	STMT_END
};
/* clang-format on */

int
counter_next(struct tdb *t, const char *name, int64_t *out)
{
	struct dbres res;

	if (tdb_query(t, &store_counter_stmts[0], DB_ARGS(DBS(name)), &res) < 0)
		return -1;
	*out = (int64_t)res.insert_id;
	return *out > 0 ? 0 : -1;
}
