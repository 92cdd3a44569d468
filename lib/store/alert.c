#include "store/alert.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col alert_cols[] = {
	COL_INT(struct alert, id, 0),
	COL_STR(struct alert, type, 0),
	COL_STR(struct alert, status, 0),
	COL_STR(struct alert, subject_type, 0),
	COL_STR(struct alert, subject_id, 0),
	COL_STR(struct alert, message, 0),
	COL_JSON(struct alert, details, COL_F_NULL),
	COL_INT(struct alert, occurrences, 0),
	COL_TIME(struct alert, created_at, 0),
	COL_TIME(struct alert, updated_at, 0),
	COL_TIME(struct alert, acknowledged_at, COL_F_NULL),
	COL_INT(struct alert, acknowledged_by, COL_F_NULL),
	COL_TIME(struct alert, resolved_at, COL_F_NULL),
	COL_END
};
const struct rowtype alert_row = ROWTYPE(struct alert, "alert", alert_cols);

static const struct col alert_filter_cols[] = {
	COL_STR(struct alert_filter, type, COL_F_NULL),
	COL_STR(struct alert_filter, status, COL_F_NULL),
	COL_END
};
static const struct rowtype alert_filter_in =
    ROWTYPE(struct alert_filter, "alert_filter", alert_filter_cols);

struct alert_in {
	int64_t id, user_id;
	const char *type, *subject_type, *subject_id, *message, *details;
};
static const struct col alert_in_cols[] = {
	COL_INT(struct alert_in, id, 0),
	COL_INT(struct alert_in, user_id, COL_F_NULL),
	COL_STR(struct alert_in, type, 0),
	COL_STR(struct alert_in, subject_type, 0),
	COL_STR(struct alert_in, subject_id, 0),
	COL_STR(struct alert_in, message, 0),
	COL_JSON(struct alert_in, details, COL_F_NULL),
	COL_END
};
static const struct rowtype alert_in =
    ROWTYPE(struct alert_in, "alert_in", alert_in_cols);

static const struct sort_def alert_sorts[] = {
	{ "-created_at", "created_at DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-updated_at", "updated_at DESC, id DESC" },
	{ NULL, NULL }
};

#define ALERT_FILTER " WHERE tenant_id = :tenant" \
	" AND (:type IS NULL OR type = :type)" \
	" AND (:status IS NULL OR status = :status)"

enum { S_GET, S_LOCK, S_LIST, S_COUNT, S_RAISE, S_ACK, S_RESOLVE };

const struct stmt_def store_alert_stmts[] = {
	[S_GET] = { "alert_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM alerts WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &alert_row, NULL },
	[S_LOCK] = { "alert_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM alerts WHERE tenant_id = :tenant AND id = :id"
	     " FOR UPDATE", &db_id_in, &alert_row, NULL },
	[S_LIST] = { "alert_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM alerts" ALERT_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &alert_filter_in, &alert_row, alert_sorts },
	[S_COUNT] = { "alert_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM alerts" ALERT_FILTER,
	     &alert_filter_in, &db_count_row, NULL },
	[S_RAISE] = { "alert_raise", SCOPE_TENANT,
	     "INSERT INTO alerts (tenant_id, type, subject_type, subject_id,"
	     " message, details) VALUES (:tenant, :type, :subject_type,"
	     " :subject_id, :message, :details)"
	     " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1",
	     &alert_in, NULL, NULL },
	[S_ACK] = { "alert_ack", SCOPE_TENANT,
	     "UPDATE alerts SET status = 'acknowledged',"
	     " acknowledged_at = UTC_TIMESTAMP(), acknowledged_by = :user_id"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'open'",
	     &alert_in, NULL, NULL },
	[S_RESOLVE] = { "alert_resolve_subject", SCOPE_TENANT,
	     "UPDATE alerts SET status = 'resolved',"
	     " resolved_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND type = :type"
	     " AND subject_type = :subject_type AND subject_id = :subject_id"
	     " AND status <> 'resolved'", &alert_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_alert_stmts;

const struct store_list store_alert_list = {
    .row = &alert_row,
    .filter_size = sizeof(struct alert_filter),
    .sorts = alert_sorts,
    .page = &store_alert_stmts[S_LIST],
    .count = &store_alert_stmts[S_COUNT],
};

int
store_alert_get(struct tdb *t, int64_t id, struct alert *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_alert_lock(struct tdb *t, int64_t id, struct alert *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_alert_raise(struct tdb *t, const char *type, const char *subject_type,
                  const char *subject_id, const char *message,
                  const char *details, int64_t *id)
{
	struct alert_in in = {.type = type,
	                      .subject_type = subject_type,
	                      .subject_id = subject_id,
	                      .message = message,
	                      .details = details};
	struct rows res;

	if (tdb_exec(t, &S[S_RAISE], &in, &res) < 0)
		return -1;
	/* 1 for an insert; 2 when the open alert's counter went up. */
	if (res.affected != 1)
		return 0;
	*id = (int64_t)res.insert_id;
	return 1;
}

int
store_alert_resolve(struct tdb *t, const char *type, const char *subject_type,
                    const char *subject_id)
{
	struct alert_in in = {.type = type,
	                      .subject_type = subject_type,
	                      .subject_id = subject_id};
	struct rows res;

	if (tdb_exec(t, &S[S_RESOLVE], &in, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_alert_acknowledge(struct tdb *t, int64_t id, int64_t user_id)
{
	struct alert_in in = {.id = id, .user_id = user_id};
	struct rows res;

	if (tdb_exec(t, &S[S_ACK], &in, &res) < 0)
		return -1;
	return res.affected > 0;
}
