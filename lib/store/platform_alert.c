#include "store/platform_alert.h"

#include "db.h"
#include "store/list.h"

const char *const platform_alert_types[] = {"backup_failed", NULL};
const char *const platform_alert_statuses[] = {"open", "acknowledged",
                                               "resolved", NULL};

/* clang-format off */
static const struct col alert_cols[] = {
	COL_INT(struct platform_alert, id, 0),
	COL_STR(struct platform_alert, type, 0),
	COL_STR(struct platform_alert, status, 0),
	COL_STR(struct platform_alert, subject_type, 0),
	COL_STR(struct platform_alert, subject_id, 0),
	COL_STR(struct platform_alert, message, 0),
	COL_JSON(struct platform_alert, details, COL_F_NULL),
	COL_INT(struct platform_alert, occurrences, 0),
	COL_TIME(struct platform_alert, created_at, 0),
	COL_TIME(struct platform_alert, updated_at, 0),
	COL_TIME(struct platform_alert, acknowledged_at, COL_F_NULL),
	COL_INT(struct platform_alert, acknowledged_by, COL_F_NULL),
	COL_TIME(struct platform_alert, resolved_at, COL_F_NULL),
	COL_END
};
const struct rowtype platform_alert_row =
    ROWTYPE(struct platform_alert, "platform_alert", alert_cols);

static const struct col filter_cols[] = {
	COL_STR(struct platform_alert_filter, type, COL_F_NULL),
	COL_STR(struct platform_alert_filter, status, COL_F_NULL),
	COL_END
};
static const struct rowtype filter_in =
    ROWTYPE(struct platform_alert_filter, "platform_alert_filter", filter_cols);

struct alert_in {
	int64_t id, admin_id;
	const char *type, *subject_type, *subject_id, *message, *details;
};
static const struct col in_cols[] = {
	COL_INT(struct alert_in, id, 0),
	COL_INT(struct alert_in, admin_id, COL_F_NULL),
	COL_STR(struct alert_in, type, 0),
	COL_STR(struct alert_in, subject_type, 0),
	COL_STR(struct alert_in, subject_id, 0),
	COL_STR(struct alert_in, message, 0),
	COL_JSON(struct alert_in, details, COL_F_NULL),
	COL_END
};
static const struct rowtype alert_in =
    ROWTYPE(struct alert_in, "platform_alert_in", in_cols);

static const struct sort_def alert_sorts[] = {
	{ "-created_at", "created_at DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-updated_at", "updated_at DESC, id DESC" },
	{ NULL, NULL }
};

#define ALERT_FILTER " WHERE (:type IS NULL OR type = :type)" \
	" AND (:status IS NULL OR status = :status)"

enum { S_GET, S_LOCK, S_LIST, S_COUNT, S_RAISE, S_ACK, S_RESOLVE };

const struct stmt_def store_platform_alert_stmts[] = {
	[S_GET] = { "platform_alert_get", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM platform_alerts WHERE id = :id",
	     &db_id_in, &platform_alert_row, NULL },
	[S_LOCK] = { "platform_alert_lock", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM platform_alerts WHERE id = :id FOR UPDATE",
	     &db_id_in, &platform_alert_row, NULL },
	[S_LIST] = { "platform_alert_list", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM platform_alerts" ALERT_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &filter_in, &platform_alert_row, alert_sorts },
	[S_COUNT] = { "platform_alert_count", SCOPE_GLOBAL,
	     "SELECT COUNT(*) AS n FROM platform_alerts" ALERT_FILTER,
	     &filter_in, &db_count_row, NULL },
	/* uq_platform_alerts_open makes a raise of an open type an update. */
	[S_RAISE] = { "platform_alert_raise", SCOPE_GLOBAL,
	     "INSERT INTO platform_alerts (type, subject_type, subject_id,"
	     " message, details) VALUES (:type, :subject_type, :subject_id,"
	     " :message, :details)"
	     " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1,"
	     " subject_type = :subject_type, subject_id = :subject_id,"
	     " message = :message, details = :details",
	     &alert_in, NULL, NULL },
	[S_ACK] = { "platform_alert_ack", SCOPE_GLOBAL,
	     "UPDATE platform_alerts SET status = 'acknowledged',"
	     " acknowledged_at = UTC_TIMESTAMP(), acknowledged_by = :admin_id"
	     " WHERE id = :id AND status = 'open'",
	     &alert_in, NULL, NULL },
	[S_RESOLVE] = { "platform_alert_resolve", SCOPE_GLOBAL,
	     "UPDATE platform_alerts SET status = 'resolved',"
	     " resolved_at = UTC_TIMESTAMP()"
	     " WHERE type = :type AND status <> 'resolved'",
	     &alert_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_platform_alert_stmts;

const struct store_list store_platform_alert_list = {
    .row = &platform_alert_row,
    .filter_size = sizeof(struct platform_alert_filter),
    .sorts = alert_sorts,
    .page = &store_platform_alert_stmts[S_LIST],
    .count = &store_platform_alert_stmts[S_COUNT],
};

int
store_platform_alert_get(struct db *db, struct arena *a, int64_t id,
                         struct platform_alert *out)
{
	struct db_id in = {id};

	return db_one(db, a, &S[S_GET], &in, out);
}

int
store_platform_alert_lock(struct db *db, struct arena *a, int64_t id,
                          struct platform_alert *out)
{
	struct db_id in = {id};

	return db_one(db, a, &S[S_LOCK], &in, out);
}

int
store_platform_alert_raise(struct db *db, struct arena *a, const char *type,
                           const char *subject_type, const char *subject_id,
                           const char *message, const char *details,
                           int64_t *id)
{
	struct alert_in in = {.type = type,
	                      .subject_type = subject_type,
	                      .subject_id = subject_id,
	                      .message = message,
	                      .details = details};
	struct rows res;

	*id = 0;
	if (db_exec(db, a, &S[S_RAISE], &in, &res) < 0)
		return -1;
	/* 1 for an insert; 2 when the open alert was updated. */
	if (res.affected != 1)
		return 0;
	*id = (int64_t)res.insert_id;
	return 1;
}

int
store_platform_alert_resolve(struct db *db, struct arena *a, const char *type)
{
	struct alert_in in = {.type = type};
	struct rows res;

	if (db_exec(db, a, &S[S_RESOLVE], &in, &res) < 0)
		return -1;
	return (int)res.affected;
}

int
store_platform_alert_acknowledge(struct db *db, struct arena *a, int64_t id,
                                 int64_t admin_id)
{
	struct alert_in in = {.id = id, .admin_id = admin_id};
	struct rows res;

	if (db_exec(db, a, &S[S_ACK], &in, &res) < 0)
		return -1;
	return res.affected > 0;
}
