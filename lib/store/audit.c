#include "store/audit.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col audit_log_cols[] = {
	COL_INT(struct audit_log, id, 0),
	COL_INT(struct audit_log, user_id, COL_F_NULL),
	COL_STR(struct audit_log, action, 0),
	COL_STR(struct audit_log, entity_type, 0),
	COL_INT(struct audit_log, entity_id, COL_F_NULL),
	COL_JSON(struct audit_log, old_values, COL_F_NULL),
	COL_JSON(struct audit_log, new_values, COL_F_NULL),
	COL_STR(struct audit_log, ip_address, COL_F_NULL),
	COL_STR(struct audit_log, user_agent, COL_F_NULL),
	COL_TIME(struct audit_log, created_at, 0),
	COL_END
};
const struct rowtype audit_log_row =
    ROWTYPE(struct audit_log, "audit_log", audit_log_cols);

static const struct col audit_filter_cols[] = {
	COL_INT(struct audit_filter, user_id, COL_F_NULL),
	COL_INT(struct audit_filter, entity_id, COL_F_NULL),
	COL_STR(struct audit_filter, action, COL_F_NULL),
	COL_STR(struct audit_filter, entity_type, COL_F_NULL),
	COL_DATE(struct audit_filter, from, COL_F_NULL),
	COL_DATE(struct audit_filter, to, COL_F_NULL),
	COL_END
};
static const struct rowtype audit_filter_in =
    ROWTYPE(struct audit_filter, "audit_filter", audit_filter_cols);

static const struct col audit_stored_cols[] = {
	COL_INT(struct audit_stored, id, 0),
	COL_INT(struct audit_stored, tenant_id, 0),
	COL_STR(struct audit_stored, user_id, 0),
	COL_STR(struct audit_stored, action, 0),
	COL_STR(struct audit_stored, entity_type, 0),
	COL_STR(struct audit_stored, entity_id, 0),
	COL_STR(struct audit_stored, old_values, 0),
	COL_STR(struct audit_stored, new_values, 0),
	COL_STR(struct audit_stored, ip_address, 0),
	COL_STR(struct audit_stored, user_agent, 0),
	COL_STR(struct audit_stored, at, 0),
	COL_STR(struct audit_stored, prev_hash, 0),
	COL_STR(struct audit_stored, hash, 0),
	COL_END
};
const struct rowtype audit_stored_row =
    ROWTYPE(struct audit_stored, "audit_stored", audit_stored_cols);

/* The chain walk's rows: the stored entry without tenant_id. */
static const struct col audit_chain_cols[] = {
	COL_INT(struct audit_stored, id, 0),
	COL_STR(struct audit_stored, user_id, 0),
	COL_STR(struct audit_stored, action, 0),
	COL_STR(struct audit_stored, entity_type, 0),
	COL_STR(struct audit_stored, entity_id, 0),
	COL_STR(struct audit_stored, old_values, 0),
	COL_STR(struct audit_stored, new_values, 0),
	COL_STR(struct audit_stored, ip_address, 0),
	COL_STR(struct audit_stored, user_agent, 0),
	COL_STR(struct audit_stored, at, 0),
	COL_STR(struct audit_stored, prev_hash, 0),
	COL_STR(struct audit_stored, hash, 0),
	COL_END
};
static const struct rowtype audit_chain_row =
    ROWTYPE(struct audit_stored, "audit_chain", audit_chain_cols);

/* The chain head. */
struct chain_head {
	int64_t id;
	const char *last_hash;
};
static const struct col chain_head_cols[] = {
	COL_INT(struct chain_head, id, 0),
	COL_STR(struct chain_head, last_hash, 0),
	COL_END
};
static const struct rowtype chain_head_row =
    ROWTYPE(struct chain_head, "audit_chain_head", chain_head_cols);

static const struct col audit_new_cols[] = {
	COL_INT(struct audit_new, user_id, COL_F_NULL),
	COL_INT(struct audit_new, entity_id, COL_F_NULL),
	COL_STR(struct audit_new, action, 0),
	COL_STR(struct audit_new, entity_type, 0),
	COL_STR(struct audit_new, old_values, COL_F_NULL),
	COL_STR(struct audit_new, new_values, COL_F_NULL),
	COL_STR(struct audit_new, ip_address, COL_F_NULL),
	COL_STR(struct audit_new, user_agent, COL_F_NULL),
	COL_STR(struct audit_new, at, 0),
	COL_STR(struct audit_new, prev_hash, COL_F_NULL),
	COL_STR(struct audit_new, hash, 0),
	COL_END
};
static const struct rowtype audit_new_in =
    ROWTYPE(struct audit_new, "audit_new", audit_new_cols);

/* The chain head's move, the walks' positions. */
struct audit_pos {
	int64_t id, days;
	const char *hash;
};
static const struct col audit_pos_cols[] = {
	COL_INT(struct audit_pos, id, 0),
	COL_INT(struct audit_pos, days, 0),
	COL_STR(struct audit_pos, hash, 0),
	COL_END
};
static const struct rowtype audit_pos_in =
    ROWTYPE(struct audit_pos, "audit_pos", audit_pos_cols);

static const struct sort_def audit_sorts[] = {
	{ "-id", "id DESC" },
	{ "id", "id ASC" },
	{ NULL, NULL }
};

#define AUDIT_FILTER \
	" WHERE tenant_id = :tenant" \
	" AND (:user_id IS NULL OR user_id = :user_id)" \
	" AND (:action IS NULL OR action = :action)" \
	" AND (:entity_type IS NULL OR entity_type = :entity_type)" \
	" AND (:entity_id IS NULL OR entity_id = :entity_id)" \
	" AND (:from IS NULL OR created_at >= :from)" \
	" AND (:to IS NULL OR created_at < :to + INTERVAL 1 DAY)"

#define STORED_COLS \
	"id, CAST(user_id AS CHAR) AS user_id, action, entity_type," \
	" CAST(entity_id AS CHAR) AS entity_id, old_values, new_values," \
	" ip_address, user_agent," \
	" DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS at," \
	" prev_hash, hash"

enum {
	S_LIST, S_COUNT, S_GET, S_LOCK, S_CREATE, S_INSERT, S_ADVANCE,
	S_HEAD, S_CHAIN_PAGE, S_ARCHIVE_PAGE, S_ARCHIVE_DELETE,
};

const struct stmt_def store_audit_stmts[] = {
	[S_LIST] = { "audit_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM audit_logs" AUDIT_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &audit_filter_in, &audit_log_row, audit_sorts },
	[S_COUNT] = { "audit_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM audit_logs" AUDIT_FILTER,
	     &audit_filter_in, &db_count_row, NULL },
	[S_GET] = { "audit_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM audit_logs"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &audit_log_row, NULL },
	[S_LOCK] = { "audit_chain_lock", SCOPE_TENANT,
	     "SELECT last_id AS id, last_hash FROM audit_chain"
	     " WHERE tenant_id = :tenant FOR UPDATE",
	     NULL, &chain_head_row, NULL },
	[S_CREATE] = { "audit_chain_create", SCOPE_TENANT,
	     "INSERT IGNORE INTO audit_chain (tenant_id) VALUES (:tenant)",
	     NULL, NULL, NULL },
	[S_INSERT] = { "audit_insert", SCOPE_TENANT,
	     "INSERT INTO audit_logs (tenant_id, user_id, action, entity_type,"
	     " entity_id, old_values, new_values, ip_address, user_agent,"
	     " created_at, prev_hash, hash)"
	     " VALUES (:tenant, :user_id, :action, :entity_type, :entity_id,"
	     " :old_values, :new_values, :ip_address, :user_agent, :at,"
	     " :prev_hash, :hash)", &audit_new_in, NULL, NULL },
	[S_ADVANCE] = { "audit_chain_advance", SCOPE_TENANT,
	     "UPDATE audit_chain SET last_id = :id, last_hash = :hash"
	     " WHERE tenant_id = :tenant", &audit_pos_in, NULL, NULL },
	[S_HEAD] = { "audit_chain_head", SCOPE_TENANT,
	     "SELECT last_id AS id, last_hash FROM audit_chain"
	     " WHERE tenant_id = :tenant", NULL, &chain_head_row, NULL },
	[S_CHAIN_PAGE] = { "audit_chain_page", SCOPE_TENANT,
	     "SELECT " STORED_COLS " FROM audit_logs"
	     " WHERE tenant_id = :tenant AND id > :id ORDER BY id LIMIT 1000",
	     &audit_pos_in, &audit_chain_row, NULL },
	[S_ARCHIVE_PAGE] = { "audit_archive_page", SCOPE_MAINT,
	     "SELECT id, tenant_id, CAST(user_id AS CHAR) AS user_id, action,"
	     " entity_type, CAST(entity_id AS CHAR) AS entity_id, old_values,"
	     " new_values, ip_address, user_agent,"
	     " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS at,"
	     " prev_hash, hash FROM audit_logs"
	     " WHERE created_at < UTC_TIMESTAMP() - INTERVAL :days DAY"
	     " AND id > :id ORDER BY id LIMIT 500",
	     &audit_pos_in, &audit_stored_row, NULL },
	[S_ARCHIVE_DELETE] = { "audit_archive_delete", SCOPE_MAINT,
	     "DELETE FROM audit_logs WHERE id = :id", &db_id_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_audit_stmts;

const struct store_list store_audit_list = {
    .row = &audit_log_row,
    .filter_size = sizeof(struct audit_filter),
    .sorts = audit_sorts,
    .page = &store_audit_stmts[S_LIST],
    .count = &store_audit_stmts[S_COUNT],
};

int
store_audit_get(struct tdb *t, int64_t id, struct audit_log *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_audit_chain_lock(struct tdb *t, const char **prev)
{
	struct chain_head h;
	int rc = tdb_one(t, &S[S_LOCK], NULL, &h);

	if (rc == 0) {
		/* Tenants made before the chain table existed. */
		if (tdb_exec(t, &S[S_CREATE], NULL, NULL) < 0)
			return -1;
		rc = tdb_one(t, &S[S_LOCK], NULL, &h);
	}
	if (rc < 0)
		return -1;
	*prev = rc == 1 ? h.last_hash : NULL;
	return 0;
}

int
store_audit_insert(struct tdb *t, const struct audit_new *e, int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], e, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_audit_chain_advance(struct tdb *t, int64_t id, const char *hash)
{
	struct audit_pos in = {.id = id, .hash = hash};

	return tdb_exec(t, &S[S_ADVANCE], &in, NULL);
}

int
store_audit_chain_head(struct tdb *t, const char **hash)
{
	struct chain_head h;
	int rc = tdb_one(t, &S[S_HEAD], NULL, &h);

	if (rc < 0)
		return -1;
	*hash = rc == 1 ? h.last_hash : NULL;
	return 0;
}

int
store_audit_chain_page(struct tdb *t, int64_t after, struct rows *out)
{
	struct audit_pos in = {.id = after};

	return tdb_exec(t, &S[S_CHAIN_PAGE], &in, out);
}

int
store_audit_archive_page(struct db *db, struct arena *a, int64_t days,
                         int64_t after, struct rows *out)
{
	struct audit_pos in = {.id = after, .days = days};

	return db_exec(db, a, &S[S_ARCHIVE_PAGE], &in, out);
}

int
store_audit_archive_delete(struct db *db, struct arena *a, int64_t id)
{
	struct db_id in = {id};

	return db_exec(db, a, &S[S_ARCHIVE_DELETE], &in, NULL);
}
