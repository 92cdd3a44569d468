#include "store/shared.h"

#include "db.h"

/* clang-format off */
struct shared_in {
	int64_t user_id, entity_id;
	const char *name, *entity_type, *data, *template_key, *email;
	const char *payload, *dedupe_key;
};
static const struct col shared_in_cols[] = {
	COL_INT(struct shared_in, user_id, COL_F_NULL),
	COL_INT(struct shared_in, entity_id, COL_F_NULL),
	COL_STR(struct shared_in, name, 0),
	COL_STR(struct shared_in, entity_type, COL_F_NULL),
	COL_JSON(struct shared_in, data, COL_F_NULL),
	COL_STR(struct shared_in, template_key, 0),
	COL_STR(struct shared_in, email, COL_F_NULL),
	COL_JSON(struct shared_in, payload, COL_F_NULL),
	COL_STR(struct shared_in, dedupe_key, COL_F_NULL),
	COL_END
};
static const struct rowtype shared_in =
    ROWTYPE(struct shared_in, "shared_in", shared_in_cols);

struct one {
	int64_t one;
};
static const struct col one_cols[] = {
	COL_INT(struct one, one, 0),
	COL_END
};
static const struct rowtype one_row = ROWTYPE(struct one, "one", one_cols);

enum { S_COUNTER, S_NOTIFY, S_ADMINS, S_ADMINS_ALL, S_PING };

const struct stmt_def store_shared_stmts[] = {
	/*
	 * LAST_INSERT_ID(expr) hands the new value back as the statement's
	 * insert id, so no second query (and no race) is needed.
	 */
	[S_COUNTER] = { "counter_next", SCOPE_TENANT,
	     "INSERT INTO tenant_counters (tenant_id, name, value)"
	     " VALUES (:tenant, :name, LAST_INSERT_ID(1))"
	     " ON DUPLICATE KEY UPDATE value = LAST_INSERT_ID(value + 1)",
	     &shared_in, NULL, NULL },
	[S_NOTIFY] = { "notify_queue", SCOPE_TENANT,
	     "INSERT IGNORE INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, recipient_email, payload, dedupe_key)"
	     " VALUES (:tenant, :template_key, :user_id, :email, :payload,"
	     " :dedupe_key)", &shared_in, NULL, NULL },
	[S_ADMINS] = { "notify_admins", SCOPE_TENANT,
	     "INSERT IGNORE INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, payload, dedupe_key)"
	     " SELECT tenant_id, :template_key, id, :payload,"
	     " CONCAT(:dedupe_key, ':', id) FROM users"
	     " WHERE tenant_id = :tenant AND role = 'admin' AND active = 1",
	     &shared_in, NULL, NULL },
	[S_ADMINS_ALL] = { "notify_admins_nodedupe", SCOPE_TENANT,
	     "INSERT INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, payload)"
	     " SELECT tenant_id, :template_key, id, :payload FROM users"
	     " WHERE tenant_id = :tenant AND role = 'admin' AND active = 1",
	     &shared_in, NULL, NULL },
	[S_PING] = { "health_ping", SCOPE_GLOBAL, "SELECT 1 AS one",
	     NULL, &one_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_shared_stmts;

int
store_counter_next(struct tdb *t, const char *name, int64_t *out)
{
	struct shared_in in = {.name = name};
	struct rows res;

	if (tdb_exec(t, &S[S_COUNTER], &in, &res) < 0)
		return -1;
	*out = (int64_t)res.insert_id;
	return *out > 0 ? 0 : -1;
}

int
store_notify_queue(struct tdb *t, const char *template_key, int64_t user_id,
                   const char *email, const char *payload,
                   const char *dedupe_key)
{
	struct shared_in in = {.template_key = template_key,
	                       .user_id = user_id,
	                       .email = email,
	                       .payload = payload,
	                       .dedupe_key = dedupe_key};
	struct rows res;

	if (tdb_exec(t, &S[S_NOTIFY], &in, &res) < 0)
		return -1;
	return res.affected == 1;
}

int
store_notify_admins(struct tdb *t, const char *template_key,
                    const char *payload, const char *dedupe_key)
{
	struct shared_in in = {.template_key = template_key,
	                       .payload = payload,
	                       .dedupe_key = dedupe_key};

	return tdb_exec(t, &S[dedupe_key ? S_ADMINS : S_ADMINS_ALL], &in, NULL);
}

int
store_health_ping(struct db *db, struct arena *a)
{
	struct one r;

	return db_one(db, a, &S[S_PING], NULL, &r) == 1 ? 0 : -1;
}
