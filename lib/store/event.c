#include "store/event.h"

#include "db.h"

/* clang-format off */
struct lock_row {
	int64_t in_tx;
};
static const struct col lock_cols[] = {
	COL_INT(struct lock_row, in_tx, 0),
	COL_END
};
static const struct rowtype lock_row =
    ROWTYPE(struct lock_row, "event_lock", lock_cols);

static const struct col head_cols[] = {
	COL_INT(struct event_head, last_id, 0),
	COL_INT(struct event_head, pruned_id, 0),
	COL_END
};
static const struct rowtype head_row =
    ROWTYPE(struct event_head, "event_head", head_cols);

static const struct col event_cols[] = {
	COL_INT(struct event_row, id, 0),
	COL_STR(struct event_row, name, 0),
	COL_JSON(struct event_row, data, COL_F_NULL),
	COL_TIME(struct event_row, created_at, 0),
	COL_END
};
static const struct rowtype event_row =
    ROWTYPE(struct event_row, "event", event_cols);

static const struct col user_cols[] = {
	COL_INT(struct event_user, id, 0),
	COL_STR(struct event_user, role, 0),
	COL_BOOL(struct event_user, active, 0),
	COL_END
};
static const struct rowtype user_row =
    ROWTYPE(struct event_user, "event_user", user_cols);

static const struct col tenant_head_cols[] = {
	COL_INT(struct event_tenant_head, tenant_id, 0),
	COL_INT(struct event_tenant_head, last_id, 0),
	COL_END
};
static const struct rowtype tenant_head_row = ROWTYPE(
    struct event_tenant_head, "event_tenant_head", tenant_head_cols);

struct max_row {
	int64_t id;
};
static const struct col max_cols[] = {
	COL_INT(struct max_row, id, 0),
	COL_END
};
static const struct rowtype max_row =
    ROWTYPE(struct max_row, "event_max", max_cols);

struct event_in {
	int64_t id, entity_id, lo, hi;
	const char *name, *entity_type, *data, *cutoff;
};
static const struct col event_in_cols[] = {
	COL_INT(struct event_in, id, 0),
	COL_INT(struct event_in, entity_id, COL_F_NULL),
	COL_INT(struct event_in, lo, 0),
	COL_INT(struct event_in, hi, 0),
	COL_STR(struct event_in, name, 0),
	COL_STR(struct event_in, entity_type, COL_F_NULL),
	COL_JSON(struct event_in, data, COL_F_NULL),
	COL_STR(struct event_in, cutoff, 0),
	COL_END
};
static const struct rowtype event_in =
    ROWTYPE(struct event_in, "event_in", event_in_cols);

enum {
	S_LOCK, S_LOCK_CREATE, S_INSERT, S_HEAD_ADVANCE, S_HEAD, S_AFTER,
	S_USERS, S_PRUNE_BOUNDARY, S_PRUNE_MARK, S_PRUNE_DELETE, S_HEADS,
	S_MAX_ID, S_TENANTS,
};

const struct stmt_def store_event_stmts[] = {
	/*
	 * The tenant's writer lock: the row audit_write() locks too, so
	 * that every transaction of a tenant takes it first and two writers
	 * can never hold it and the event head in opposite order.  in_tx
	 * tells event_emit() whether the caller opened a transaction.
	 */
	[S_LOCK] = { "event_lock", SCOPE_TENANT,
	     "SELECT @@in_transaction AS in_tx FROM audit_chain"
	     " WHERE tenant_id = :tenant FOR UPDATE", NULL, &lock_row, NULL },
	[S_LOCK_CREATE] = { "event_lock_create", SCOPE_TENANT,
	     "INSERT IGNORE INTO audit_chain (tenant_id) VALUES (:tenant)",
	     NULL, NULL, NULL },
	[S_INSERT] = { "event_insert", SCOPE_TENANT,
	     "INSERT INTO events (tenant_id, name, entity_type, entity_id, data)"
	     " VALUES (:tenant, :name, :entity_type, :entity_id, :data)",
	     &event_in, NULL, NULL },
	[S_HEAD_ADVANCE] = { "event_head_advance", SCOPE_TENANT,
	     "INSERT INTO event_heads (tenant_id, last_id) VALUES (:tenant, :id)"
	     " ON DUPLICATE KEY UPDATE last_id = GREATEST(last_id,"
	     " VALUES(last_id))", &event_in, NULL, NULL },
	[S_HEAD] = { "event_head", SCOPE_TENANT,
	     "SELECT last_id, pruned_id FROM event_heads"
	     " WHERE tenant_id = :tenant", NULL, &head_row, NULL },
	[S_AFTER] = { "event_after", SCOPE_TENANT,
	     "SELECT id, name, data, created_at FROM events"
	     " WHERE tenant_id = :tenant AND id > :id ORDER BY id LIMIT 200",
	     &event_in, &event_row, NULL },
	[S_USERS] = { "event_users", SCOPE_TENANT,
	     "SELECT id, role, active FROM users WHERE tenant_id = :tenant",
	     NULL, &user_row, NULL },
	[S_PRUNE_BOUNDARY] = { "event_prune_boundary", SCOPE_TENANT,
	     "SELECT id FROM events WHERE tenant_id = :tenant"
	     " AND created_at < :cutoff ORDER BY created_at DESC, id DESC"
	     " LIMIT 1", &event_in, &max_row, NULL },
	[S_PRUNE_MARK] = { "event_prune_mark", SCOPE_TENANT,
	     "UPDATE event_heads SET pruned_id = GREATEST(pruned_id, :id)"
	     " WHERE tenant_id = :tenant", &event_in, NULL, NULL },
	[S_PRUNE_DELETE] = { "event_prune_delete", SCOPE_TENANT,
	     "DELETE FROM events WHERE tenant_id = :tenant AND id <= :id"
	     " ORDER BY id LIMIT 5000", &event_in, NULL, NULL },
	/*
	 * The daemon's poll: the heads of the tenant range it serves, one
	 * query for all of them (event_heads has one row per tenant).
	 */
	[S_HEADS] = { "event_heads_poll", SCOPE_GLOBAL,
	     "SELECT tenant_id, last_id FROM event_heads"
	     " WHERE tenant_id BETWEEN :lo AND :hi",
	     &event_in, &tenant_head_row, NULL },
	[S_MAX_ID] = { "event_max_id", SCOPE_GLOBAL,
	     "SELECT COALESCE(MAX(id), 0) AS id FROM events",
	     NULL, &max_row, NULL },
	[S_TENANTS] = { "event_tenants", SCOPE_GLOBAL,
	     "SELECT tenant_id, last_id FROM event_heads WHERE tenant_id > :id"
	     " ORDER BY tenant_id LIMIT 500", &event_in, &tenant_head_row,
	     NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_event_stmts;

int
store_event_lock(struct tdb *t, int *in_tx)
{
	struct lock_row l;
	int rc = tdb_one(t, &S[S_LOCK], NULL, &l);

	if (rc == 0) {
		/* Tenants made before the chain table existed. */
		if (tdb_exec(t, &S[S_LOCK_CREATE], NULL, NULL) < 0)
			return -1;
		rc = tdb_one(t, &S[S_LOCK], NULL, &l);
	}
	if (rc != 1)
		return -1;
	*in_tx = l.in_tx != 0;
	return 0;
}

int
store_event_insert(struct tdb *t, const char *name, const char *entity_type,
                   int64_t entity_id, const char *data)
{
	struct event_in in = {.name = name,
	                      .entity_type = entity_type,
	                      .entity_id = entity_id,
	                      .data = data};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	in.id = (int64_t)res.insert_id;
	return tdb_exec(t, &S[S_HEAD_ADVANCE], &in, NULL);
}

int
store_event_head(struct tdb *t, struct event_head *out)
{
	return tdb_one(t, &S[S_HEAD], NULL, out);
}

int
store_event_after(struct tdb *t, int64_t after, struct rows *out)
{
	struct event_in in = {.id = after};

	return tdb_exec(t, &S[S_AFTER], &in, out);
}

int
store_event_users(struct tdb *t, struct rows *out)
{
	return tdb_exec(t, &S[S_USERS], NULL, out);
}

int
store_event_prune_boundary(struct tdb *t, const char *cutoff, int64_t *id)
{
	struct event_in in = {.cutoff = cutoff};
	struct max_row m;
	int rc = tdb_one(t, &S[S_PRUNE_BOUNDARY], &in, &m);

	*id = rc == 1 ? m.id : 0;
	return rc < 0 ? -1 : 0;
}

int
store_event_prune_mark(struct tdb *t, int64_t id)
{
	struct event_in in = {.id = id};

	return tdb_exec(t, &S[S_PRUNE_MARK], &in, NULL);
}

int
store_event_prune_delete(struct tdb *t, int64_t id, int64_t *deleted)
{
	struct event_in in = {.id = id};
	struct rows res;

	if (tdb_exec(t, &S[S_PRUNE_DELETE], &in, &res) < 0)
		return -1;
	*deleted = (int64_t)res.affected;
	return 0;
}

int
store_event_heads(struct db *db, struct arena *a, int64_t lo, int64_t hi,
                  struct rows *out)
{
	struct event_in in = {.lo = lo, .hi = hi};

	return db_exec(db, a, &S[S_HEADS], &in, out);
}

int
store_event_max_id(struct db *db, struct arena *a, int64_t *id)
{
	struct max_row m;

	if (db_one(db, a, &S[S_MAX_ID], NULL, &m) != 1)
		return -1;
	*id = m.id;
	return 0;
}

int
store_event_tenants(struct db *db, struct arena *a, int64_t after,
                    struct rows *out)
{
	struct event_in in = {.id = after};

	return db_exec(db, a, &S[S_TENANTS], &in, out);
}
