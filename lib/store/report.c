#include "store/report.h"

#include <string.h>

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col report_cols[] = {
	COL_INT(struct report, id, 0),
	COL_STR(struct report, type, 0),
	COL_STR(struct report, format, 0),
	COL_DATE(struct report, from, 0),
	COL_DATE(struct report, to, 0),
	COL_STR(struct report, status, 0),
	COL_INT(struct report, progress, 0),
	COL_STR(struct report, error, COL_F_NULL),
	COL_INT(struct report, row_count, 0),
	COL_INT(struct report, size_bytes, COL_F_NULL),
	COL_STR(struct report, sha256, COL_F_NULL),
	COL_INT(struct report, requested_by, COL_F_NULL),
	COL_INT(struct report, schedule_id, COL_F_NULL),
	COL_INT(struct report, attempts, 0),
	COL_TIME(struct report, created_at, 0),
	COL_TIME(struct report, started_at, COL_F_NULL),
	COL_TIME(struct report, finished_at, COL_F_NULL),
	COL_TIME(struct report, expires_at, COL_F_NULL),
	COL_STR(struct report, file_name, COL_F_NULL | COL_F_HIDDEN),
	COL_BYTES(struct report, link_hash, COL_F_NULL | COL_F_HIDDEN),
	COL_JSON(struct report, recipients, COL_F_NULL | COL_F_HIDDEN),
	COL_END
};
const struct rowtype report_row = ROWTYPE(struct report, "report", report_cols);

static const struct col report_filter_cols[] = {
	COL_STR(struct report_filter, status, COL_F_NULL),
	COL_STR(struct report_filter, type, COL_F_NULL),
	COL_INT(struct report_filter, schedule_id, COL_F_NULL),
	COL_END
};
static const struct rowtype report_filter_in =
    ROWTYPE(struct report_filter, "report_filter", report_filter_cols);

static const struct col job_cols[] = {
	COL_INT(struct report_job, id, 0),
	COL_INT(struct report_job, tenant_id, 0),
	COL_INT(struct report_job, attempts, 0),
	COL_STR(struct report_job, timezone, 0),
	COL_END
};
static const struct rowtype job_row =
    ROWTYPE(struct report_job, "report_job", job_cols);

static const struct col expiring_cols[] = {
	COL_INT(struct report_expiring, id, 0),
	COL_INT(struct report_expiring, tenant_id, 0),
	COL_STR(struct report_expiring, file_name, COL_F_NULL),
	COL_END
};
static const struct rowtype expiring_row =
    ROWTYPE(struct report_expiring, "report_expiring", expiring_cols);

static const struct col revenue_cols[] = {
	COL_INT(struct report_revenue, plan_id, 0),
	COL_STR(struct report_revenue, plan_name, 0),
	COL_INT(struct report_revenue, payments, 0),
	COL_DEC(struct report_revenue, revenue, 0),
	COL_END
};
static const struct rowtype revenue_row =
    ROWTYPE(struct report_revenue, "report_revenue", revenue_cols);

static const struct col total_cols[] = {
	COL_INT(struct report_total, payments, 0),
	COL_DEC(struct report_total, amount, 0),
	COL_END
};
static const struct rowtype total_row =
    ROWTYPE(struct report_total, "report_total", total_cols);

static const struct col payment_cols[] = {
	COL_STR(struct report_payment, status, 0),
	COL_STR(struct report_payment, method, COL_F_NULL),
	COL_INT(struct report_payment, payments, 0),
	COL_DEC(struct report_payment, amount, 0),
	COL_END
};
static const struct rowtype payment_row =
    ROWTYPE(struct report_payment, "report_payment", payment_cols);

static const struct col growth_cols[] = {
	COL_INT(struct report_growth, new_customers, 0),
	COL_INT(struct report_growth, churned, 0),
	COL_END
};
static const struct rowtype growth_row =
    ROWTYPE(struct report_growth, "report_growth", growth_cols);

static const struct col schedule_cols[] = {
	COL_INT(struct report_schedule, id, 0),
	COL_STR(struct report_schedule, name, 0),
	COL_STR(struct report_schedule, type, 0),
	COL_STR(struct report_schedule, format, 0),
	COL_STR(struct report_schedule, frequency, 0),
	COL_INT(struct report_schedule, hour, 0),
	COL_INT(struct report_schedule, day_of_week, COL_F_NULL),
	COL_INT(struct report_schedule, day_of_month, COL_F_NULL),
	COL_STR(struct report_schedule, date_range, 0),
	COL_JSON(struct report_schedule, recipients, 0),
	COL_BOOL(struct report_schedule, active, 0),
	COL_TIME(struct report_schedule, next_run_at, COL_F_NULL),
	COL_TIME(struct report_schedule, last_run_at, COL_F_NULL),
	COL_INT(struct report_schedule, last_report_id, COL_F_NULL),
	COL_INT(struct report_schedule, created_by, COL_F_NULL),
	COL_TIME(struct report_schedule, created_at, 0),
	COL_TIME(struct report_schedule, updated_at, 0),
	COL_END
};
const struct rowtype report_schedule_row =
    ROWTYPE(struct report_schedule, "report_schedule", schedule_cols);

static const struct col schedule_filter_cols[] = {
	COL_STR(struct report_schedule_filter, type, COL_F_NULL),
	COL_STR(struct report_schedule_filter, frequency, COL_F_NULL),
	COL_END
};
static const struct rowtype schedule_filter_in = ROWTYPE(
    struct report_schedule_filter, "report_schedule_filter",
    schedule_filter_cols);

static const struct col due_cols[] = {
	COL_INT(struct report_due, id, 0),
	COL_INT(struct report_due, tenant_id, 0),
	COL_STR(struct report_due, timezone, 0),
	COL_END
};
static const struct rowtype due_row =
    ROWTYPE(struct report_due, "report_due", due_cols);

/* What the writing statements and the picks bind. */
struct report_in {
	int64_t id, attempt, progress, requested_by, schedule_id, only;
	int64_t row_count, size_bytes, retention_days, batch, report_id, lease;
	const char *type, *format, *from, *to, *recipients, *error;
	const char *sha256, *file_name, *now, *start, *end, *at;
	const char *ran_at, *next_run_at;
	struct bytes link_hash;
};
static const struct col report_in_cols[] = {
	COL_INT(struct report_in, id, 0),
	COL_INT(struct report_in, attempt, 0),
	COL_INT(struct report_in, progress, 0),
	COL_INT(struct report_in, requested_by, COL_F_NULL),
	COL_INT(struct report_in, schedule_id, COL_F_NULL),
	COL_INT(struct report_in, only, COL_F_NULL),
	COL_INT(struct report_in, row_count, 0),
	COL_INT(struct report_in, size_bytes, 0),
	COL_INT(struct report_in, retention_days, 0),
	COL_INT(struct report_in, batch, 0),
	COL_INT(struct report_in, report_id, COL_F_NULL),
	COL_INT(struct report_in, lease, 0),
	COL_STR(struct report_in, type, COL_F_NULL),
	COL_STR(struct report_in, format, COL_F_NULL),
	COL_DATE(struct report_in, from, COL_F_NULL),
	COL_DATE(struct report_in, to, COL_F_NULL),
	COL_STR(struct report_in, recipients, COL_F_NULL),
	COL_STR(struct report_in, error, COL_F_NULL),
	COL_STR(struct report_in, sha256, COL_F_NULL),
	COL_STR(struct report_in, file_name, COL_F_NULL),
	COL_TIME(struct report_in, now, COL_F_NULL),
	COL_TIME(struct report_in, start, COL_F_NULL),
	COL_TIME(struct report_in, end, COL_F_NULL),
	COL_TIME(struct report_in, at, COL_F_NULL),
	COL_TIME(struct report_in, ran_at, COL_F_NULL),
	COL_TIME(struct report_in, next_run_at, COL_F_NULL),
	COL_BYTES(struct report_in, link_hash, COL_F_NULL),
	COL_END
};
static const struct rowtype report_in =
    ROWTYPE(struct report_in, "report_in", report_in_cols);

static const struct sort_def report_sorts[] = {
	{ "-created_at", "created_at DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ NULL, NULL }
};

static const struct sort_def schedule_sorts[] = {
	{ "name", "name ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "next_run_at", "next_run_at IS NULL, next_run_at ASC, id ASC" },
	{ NULL, NULL }
};

/*
 * The API's from/to are the columns date_from/date_to.  The aliases are
 * quoted as strings (MariaDB allows that for an alias): lib/sqlcheck.c
 * reads a `from` in backquotes as the keyword, which it is not.
 */
#define REPORT_COLS \
	"id, type, format, date_from AS 'from', date_to AS 'to', status," \
	" progress, error, row_count, size_bytes, sha256, requested_by," \
	" schedule_id, attempts, created_at, started_at, finished_at," \
	" expires_at, file_name, link_hash, recipients"

#define REPORT_FILTER " WHERE tenant_id = :tenant" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:type IS NULL OR type = :type)" \
	" AND (:schedule_id IS NULL OR schedule_id = :schedule_id)"

#define SCHEDULE_FILTER " WHERE tenant_id = :tenant" \
	" AND (:type IS NULL OR type = :type)" \
	" AND (:frequency IS NULL OR frequency = :frequency)"

/*
 * The queue picks lock the tenant's row with the report (FOR UPDATE
 * locks every row a join reads), so SKIP LOCKED also passes over the
 * reports of a tenant whose row someone holds; the row is held only for
 * the claim's short transaction.
 */
#define REPORT_PICK(cond) \
	"SELECT r.id, r.tenant_id, r.attempts, t.timezone FROM reports r" \
	" JOIN tenants t ON t.id = r.tenant_id" \
	" WHERE " cond " AND t.status = 'active'" \
	" AND (:only IS NULL OR t.id = :only)" \
	" ORDER BY r.id LIMIT 1 FOR UPDATE SKIP LOCKED"

/* A claimed report's change belongs to the attempt that claimed it. */
#define FENCE " WHERE tenant_id = :tenant AND id = :id" \
	" AND status = 'running' AND attempts = :attempt"

enum {
	S_GET, S_LIST, S_COUNT, S_INSERT, S_ACTIVE, S_NEXT_QUEUED,
	S_NEXT_STALE, S_CLAIM, S_PROGRESS, S_FINISH, S_FAIL, S_EXPIRING,
	S_EXPIRE, S_TENANT, S_REVENUE, S_REVENUE_TOTAL, S_PAYMENTS,
	S_PAYMENTS_TOTAL, S_GROWTH, S_CUSTOMERS_AT, S_SCHED_GET,
	S_SCHED_LOCK, S_SCHED_LIST, S_SCHED_COUNT, S_SCHED_ALL,
	S_SCHED_INSERT, S_SCHED_UPDATE, S_SCHED_DELETE, S_SCHED_DUE,
	S_SCHED_RAN,
};

const struct stmt_def store_report_stmts[] = {
	[S_GET] = { "report_get", SCOPE_TENANT,
	     "SELECT " REPORT_COLS " FROM reports"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &report_row, NULL },
	[S_LIST] = { "report_list", SCOPE_TENANT,
	     "SELECT " REPORT_COLS " FROM reports" REPORT_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &report_filter_in, &report_row, report_sorts },
	[S_COUNT] = { "report_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM reports" REPORT_FILTER,
	     &report_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "report_insert", SCOPE_TENANT,
	     "INSERT INTO reports (tenant_id, type, format, date_from,"
	     " date_to, requested_by, schedule_id, recipients)"
	     " VALUES (:tenant, :type, :format, :from, :to, :requested_by,"
	     " :schedule_id, :recipients)", &report_in, NULL, NULL },
	[S_ACTIVE] = { "report_active_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM reports WHERE tenant_id = :tenant"
	     " AND status IN ('queued', 'running')",
	     NULL, &db_count_row, NULL },
	[S_NEXT_QUEUED] = { "report_next_queued", SCOPE_GLOBAL,
	     REPORT_PICK("r.status = 'queued'"), &report_in, &job_row, NULL },
	[S_NEXT_STALE] = { "report_next_stale", SCOPE_GLOBAL,
	     REPORT_PICK("r.status = 'running' AND r.heartbeat_at <"
	                 " UTC_TIMESTAMP() - INTERVAL :lease SECOND"),
	     &report_in, &job_row, NULL },
	[S_CLAIM] = { "report_claim", SCOPE_TENANT,
	     "UPDATE reports SET status = 'running', progress = 0,"
	     " attempts = attempts + 1, started_at = UTC_TIMESTAMP(),"
	     " heartbeat_at = UTC_TIMESTAMP(), error = NULL"
	     " WHERE tenant_id = :tenant AND id = :id"
	     " AND status IN ('queued', 'running')", &db_id_in, NULL, NULL },
	[S_PROGRESS] = { "report_progress", SCOPE_TENANT,
	     "UPDATE reports SET progress = :progress,"
	     " heartbeat_at = UTC_TIMESTAMP()" FENCE, &report_in, NULL, NULL },
	[S_FINISH] = { "report_finish", SCOPE_TENANT,
	     "UPDATE reports SET status = 'done', progress = 100,"
	     " row_count = :row_count, size_bytes = :size_bytes,"
	     " sha256 = :sha256, file_name = :file_name,"
	     " link_hash = :link_hash, finished_at = UTC_TIMESTAMP(),"
	     " expires_at = UTC_TIMESTAMP() + INTERVAL :retention_days DAY,"
	     " heartbeat_at = NULL" FENCE, &report_in, NULL, NULL },
	[S_FAIL] = { "report_fail", SCOPE_TENANT,
	     "UPDATE reports SET status = 'failed', error = :error,"
	     " finished_at = UTC_TIMESTAMP(), heartbeat_at = NULL" FENCE,
	     &report_in, NULL, NULL },
	[S_EXPIRING] = { "report_expiring", SCOPE_GLOBAL,
	     "SELECT r.id, r.tenant_id, r.file_name FROM reports r"
	     " JOIN tenants t ON t.id = r.tenant_id"
	     " WHERE r.status = 'done' AND r.expires_at <= :now"
	     " AND (:only IS NULL OR t.id = :only)"
	     " ORDER BY r.expires_at, r.id LIMIT :batch FOR UPDATE SKIP LOCKED",
	     &report_in, &expiring_row, NULL },
	[S_EXPIRE] = { "report_expire", SCOPE_TENANT,
	     "UPDATE reports SET status = 'expired', file_name = NULL,"
	     " link_hash = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND status = 'done'",
	     &db_id_in, NULL, NULL },
	[S_TENANT] = { "report_tenant_exists", SCOPE_GLOBAL,
	     "SELECT id FROM tenants WHERE id = :id",
	     &db_id_in, &db_id_in, NULL },
	/*
	 * Revenue is what was paid: payments with status paid, counted by
	 * their payment_date, grouped by the payer's plan.  Payments do not
	 * record the plan, so a customer who changed plans counts under
	 * the plan they have now.
	 */
	[S_REVENUE] = { "report_revenue", SCOPE_TENANT,
	     "SELECT sp.id AS plan_id, sp.name AS plan_name,"
	     " COUNT(*) AS payments, SUM(p.amount) AS revenue"
	     " FROM payments p"
	     " JOIN customers c ON c.tenant_id = p.tenant_id"
	     " AND c.id = p.customer_id"
	     " JOIN service_plans sp ON sp.tenant_id = c.tenant_id"
	     " AND sp.id = c.service_plan_id"
	     " WHERE p.tenant_id = :tenant AND p.status = 'paid'"
	     " AND p.payment_date >= :from AND p.payment_date <= :to"
	     " GROUP BY sp.id, sp.name ORDER BY sp.name, sp.id",
	     &report_in, &revenue_row, NULL },
	[S_REVENUE_TOTAL] = { "report_revenue_total", SCOPE_TENANT,
	     "SELECT COUNT(*) AS payments,"
	     " COALESCE(SUM(amount), 0.00) AS amount FROM payments"
	     " WHERE tenant_id = :tenant AND status = 'paid'"
	     " AND payment_date >= :from AND payment_date <= :to",
	     &report_in, &total_row, NULL },
	[S_PAYMENTS] = { "report_payments", SCOPE_TENANT,
	     "SELECT status, method, COUNT(*) AS payments,"
	     " SUM(amount) AS amount FROM payments"
	     " WHERE tenant_id = :tenant"
	     " AND payment_date >= :from AND payment_date <= :to"
	     " GROUP BY status, method ORDER BY status, method",
	     &report_in, &payment_row, NULL },
	[S_PAYMENTS_TOTAL] = { "report_payments_total", SCOPE_TENANT,
	     "SELECT COUNT(*) AS payments,"
	     " COALESCE(SUM(amount), 0.00) AS amount FROM payments"
	     " WHERE tenant_id = :tenant"
	     " AND payment_date >= :from AND payment_date <= :to",
	     &report_in, &total_row, NULL },
	[S_GROWTH] = { "report_growth", SCOPE_TENANT,
	     "SELECT (SELECT COUNT(*) FROM customers"
	     " WHERE tenant_id = :tenant AND created_at >= :start"
	     " AND created_at < :end) AS new_customers,"
	     " (SELECT COUNT(*) FROM customers"
	     " WHERE tenant_id = :tenant AND left_at >= :start"
	     " AND left_at < :end) AS churned",
	     &report_in, &growth_row, NULL },
	[S_CUSTOMERS_AT] = { "report_customers_at", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM customers"
	     " WHERE tenant_id = :tenant AND created_at < :at"
	     " AND (left_at IS NULL OR left_at >= :at)",
	     &report_in, &db_count_row, NULL },
	[S_SCHED_GET] = { "report_schedule_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM report_schedules"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &report_schedule_row, NULL },
	[S_SCHED_LOCK] = { "report_schedule_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM report_schedules"
	     " WHERE tenant_id = :tenant AND id = :id FOR UPDATE",
	     &db_id_in, &report_schedule_row, NULL },
	[S_SCHED_LIST] = { "report_schedule_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM report_schedules" SCHEDULE_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &schedule_filter_in, &report_schedule_row, schedule_sorts },
	[S_SCHED_COUNT] = { "report_schedule_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM report_schedules" SCHEDULE_FILTER,
	     &schedule_filter_in, &db_count_row, NULL },
	[S_SCHED_ALL] = { "report_schedule_count_all", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM report_schedules"
	     " WHERE tenant_id = :tenant", NULL, &db_count_row, NULL },
	[S_SCHED_INSERT] = { "report_schedule_insert", SCOPE_TENANT,
	     "INSERT INTO report_schedules (tenant_id, name, type, format,"
	     " frequency, hour, day_of_week, day_of_month, date_range,"
	     " recipients, active, next_run_at, created_by)"
	     " VALUES (:tenant, :name, :type, :format, :frequency, :hour,"
	     " :day_of_week, :day_of_month, :date_range, :recipients,"
	     " :active, :next_run_at, :created_by)",
	     &report_schedule_row, NULL, NULL },
	[S_SCHED_UPDATE] = { "report_schedule_update", SCOPE_TENANT,
	     "UPDATE report_schedules SET name = :name, type = :type,"
	     " format = :format, frequency = :frequency, hour = :hour,"
	     " day_of_week = :day_of_week, day_of_month = :day_of_month,"
	     " date_range = :date_range, recipients = :recipients,"
	     " active = :active, next_run_at = :next_run_at"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &report_schedule_row, NULL, NULL },
	[S_SCHED_DELETE] = { "report_schedule_delete", SCOPE_TENANT,
	     "DELETE FROM report_schedules"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, NULL, NULL },
	[S_SCHED_DUE] = { "report_schedule_next_due", SCOPE_GLOBAL,
	     "SELECT s.id, s.tenant_id, t.timezone FROM report_schedules s"
	     " JOIN tenants t ON t.id = s.tenant_id"
	     " WHERE s.active = 1 AND s.next_run_at <= :now"
	     " AND t.status = 'active' AND (:only IS NULL OR t.id = :only)"
	     " ORDER BY s.next_run_at, s.id LIMIT 1 FOR UPDATE SKIP LOCKED",
	     &report_in, &due_row, NULL },
	[S_SCHED_RAN] = { "report_schedule_ran", SCOPE_TENANT,
	     "UPDATE report_schedules SET last_run_at = :ran_at,"
	     " last_report_id = :report_id, next_run_at = :next_run_at"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &report_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_report_stmts;

const struct store_list store_report_list = {
    .row = &report_row,
    .filter_size = sizeof(struct report_filter),
    .sorts = report_sorts,
    .page = &store_report_stmts[S_LIST],
    .count = &store_report_stmts[S_COUNT],
};

const struct store_list store_report_schedule_list = {
    .row = &report_schedule_row,
    .filter_size = sizeof(struct report_schedule_filter),
    .sorts = schedule_sorts,
    .page = &store_report_stmts[S_SCHED_LIST],
    .count = &store_report_stmts[S_SCHED_COUNT],
};

/* The number of rows an UPDATE matched: 1, 0, or -1 on error. */
static int
matched(struct tdb *t, const struct stmt_def *def, const void *in)
{
	struct rows res;

	if (tdb_exec(t, def, in, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_report_get(struct tdb *t, int64_t id, struct report *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_report_insert(struct tdb *t, const struct report_new *n, int64_t *id)
{
	struct report_in in = {.type = n->type,
	                       .format = n->format,
	                       .from = n->from,
	                       .to = n->to,
	                       .requested_by = n->requested_by,
	                       .schedule_id = n->schedule_id,
	                       .recipients = n->recipients};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_report_active_count(struct tdb *t, int64_t *n)
{
	struct db_count c;

	if (tdb_one(t, &S[S_ACTIVE], NULL, &c) < 0)
		return -1;
	*n = c.n;
	return 0;
}

int
store_report_next_queued(struct db *db, struct arena *a, int64_t only_tenant,
                         struct report_job *out)
{
	struct report_in in = {.only = only_tenant};

	return db_one(db, a, &S[S_NEXT_QUEUED], &in, out);
}

int
store_report_next_stale(struct db *db, struct arena *a, int64_t only_tenant,
                        int64_t lease_seconds, struct report_job *out)
{
	struct report_in in = {.only = only_tenant, .lease = lease_seconds};

	return db_one(db, a, &S[S_NEXT_STALE], &in, out);
}

int
store_report_claim(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return matched(t, &S[S_CLAIM], &in);
}

int
store_report_progress(struct tdb *t, int64_t id, int64_t attempt,
                      int64_t progress)
{
	struct report_in in = {
	    .id = id, .attempt = attempt, .progress = progress};

	return matched(t, &S[S_PROGRESS], &in);
}

int
store_report_finish(struct tdb *t, int64_t id, int64_t attempt,
                    const struct report_done *d)
{
	struct report_in in = {.id = id,
	                       .attempt = attempt,
	                       .row_count = d->row_count,
	                       .size_bytes = d->size_bytes,
	                       .sha256 = d->sha256,
	                       .file_name = d->file_name,
	                       .link_hash = d->link_hash,
	                       .retention_days = d->retention_days};

	return matched(t, &S[S_FINISH], &in);
}

int
store_report_fail(struct tdb *t, int64_t id, int64_t attempt, const char *error)
{
	struct report_in in = {.id = id, .attempt = attempt, .error = error};

	return matched(t, &S[S_FAIL], &in);
}

int
store_report_expiring(struct db *db, struct arena *a, int64_t only_tenant,
                      const char *now, int64_t limit, struct rows *out)
{
	struct report_in in = {.only = only_tenant, .now = now, .batch = limit};

	return db_exec(db, a, &S[S_EXPIRING], &in, out);
}

int
store_report_expire(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return matched(t, &S[S_EXPIRE], &in);
}

int
store_report_tenant_exists(struct db *db, struct arena *a, int64_t id)
{
	struct db_id in = {id}, out;

	return db_one(db, a, &S[S_TENANT], &in, &out);
}

int
store_report_revenue(struct tdb *t, const char *from, const char *to,
                     struct rows *out)
{
	struct report_in in = {.from = from, .to = to};

	return tdb_exec(t, &S[S_REVENUE], &in, out);
}

int
store_report_revenue_total(struct tdb *t, const char *from, const char *to,
                           struct report_total *out)
{
	struct report_in in = {.from = from, .to = to};

	return tdb_one(t, &S[S_REVENUE_TOTAL], &in, out) == 1 ? 0 : -1;
}

int
store_report_payments(struct tdb *t, const char *from, const char *to,
                      struct rows *out)
{
	struct report_in in = {.from = from, .to = to};

	return tdb_exec(t, &S[S_PAYMENTS], &in, out);
}

int
store_report_payments_total(struct tdb *t, const char *from, const char *to,
                            struct report_total *out)
{
	struct report_in in = {.from = from, .to = to};

	return tdb_one(t, &S[S_PAYMENTS_TOTAL], &in, out) == 1 ? 0 : -1;
}

int
store_report_growth(struct tdb *t, const char *start, const char *end,
                    struct report_growth *out)
{
	struct report_in in = {.start = start, .end = end};

	return tdb_one(t, &S[S_GROWTH], &in, out) == 1 ? 0 : -1;
}

int
store_report_customers_at(struct tdb *t, const char *at, int64_t *n)
{
	struct report_in in = {.at = at};
	struct db_count c;

	if (tdb_one(t, &S[S_CUSTOMERS_AT], &in, &c) != 1)
		return -1;
	*n = c.n;
	return 0;
}

int
store_report_schedule_get(struct tdb *t, int64_t id,
                          struct report_schedule *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_SCHED_GET], &in, out);
}

int
store_report_schedule_lock(struct tdb *t, int64_t id,
                           struct report_schedule *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_SCHED_LOCK], &in, out);
}

int
store_report_schedule_insert(struct tdb *t, const struct report_schedule *s,
                             int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_SCHED_INSERT], s, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_report_schedule_update(struct tdb *t, const struct report_schedule *s)
{
	return tdb_exec(t, &S[S_SCHED_UPDATE], s, NULL);
}

int
store_report_schedule_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return matched(t, &S[S_SCHED_DELETE], &in);
}

int
store_report_schedule_count(struct tdb *t, int64_t *n)
{
	struct db_count c;

	if (tdb_one(t, &S[S_SCHED_ALL], NULL, &c) != 1)
		return -1;
	*n = c.n;
	return 0;
}

int
store_report_schedule_next_due(struct db *db, struct arena *a,
                               int64_t only_tenant, const char *now,
                               struct report_due *out)
{
	struct report_in in = {.only = only_tenant, .now = now};

	return db_one(db, a, &S[S_SCHED_DUE], &in, out);
}

int
store_report_schedule_ran(struct tdb *t, int64_t id, const char *ran_at,
                          int64_t report_id, const char *next_run_at)
{
	struct report_in in = {.id = id,
	                       .ran_at = ran_at,
	                       .report_id = report_id,
	                       .next_run_at = next_run_at};

	return tdb_exec(t, &S[S_SCHED_RAN], &in, NULL);
}
