/*
 * provisioning_jobs and the routers' provisioning lease (migration 0012).
 *
 * Order.  A router's jobs are applied by the one daemon that holds its
 * lease, in id order.  The claim leaves out a job whose customer has an
 * earlier unfinished job on the same router that is not due yet (it
 * waits for its back-off): a later job never overtakes an earlier one,
 * whichever daemon takes which pass.  Jobs of one customer on two
 * routers (a customer moved) are independent: each converges its own
 * router.
 */
#include "store/provision.h"

#include <string.h>

#include "db.h"
#include "store/customer.h"
#include "store/list.h"

/* clang-format off */
static const struct col job_cols[] = {
	COL_INT(struct provision_job, id, 0),
	COL_INT(struct provision_job, customer_id, COL_F_NULL),
	COL_INT(struct provision_job, router_id, COL_F_NULL),
	COL_STR(struct provision_job, action, 0),
	COL_JSON(struct provision_job, payload, COL_F_NULL | COL_F_HIDDEN),
	COL_STR(struct provision_job, status, 0),
	COL_INT(struct provision_job, attempts, 0),
	COL_INT(struct provision_job, max_attempts, 0),
	COL_STR(struct provision_job, last_error, COL_F_NULL),
	COL_TIME(struct provision_job, run_after, 0),
	COL_TIME(struct provision_job, created_at, 0),
	COL_TIME(struct provision_job, updated_at, 0),
	COL_TIME(struct provision_job, done_at, COL_F_NULL),
	COL_END
};
const struct rowtype provision_job_row =
    ROWTYPE(struct provision_job, "provisioning_job", job_cols);

static const struct col filter_cols[] = {
	COL_STR(struct provision_job_filter, status, COL_F_NULL),
	COL_INT(struct provision_job_filter, customer_id, COL_F_NULL),
	COL_INT(struct provision_job_filter, router_id, COL_F_NULL),
	COL_END
};
static const struct rowtype filter_in =
    ROWTYPE(struct provision_job_filter, "provision_job_filter", filter_cols);

static const struct col due_cols[] = {
	COL_INT(struct provision_due, id, 0),
	COL_INT(struct provision_due, tenant_id, 0),
	COL_END
};
static const struct rowtype due_row =
    ROWTYPE(struct provision_due, "provision_due", due_cols);

struct failures {
	int64_t failures;
};
static const struct col failures_cols[] = {
	COL_INT(struct failures, failures, 0),
	COL_END
};
static const struct rowtype failures_row =
    ROWTYPE(struct failures, "provision_failures", failures_cols);

/* What the writing statements bind. */
struct job_in {
	int64_t id, router_id, batch, seconds, tries, ok;
	const char *owner, *status, *last_error;
};
static const struct col job_in_cols[] = {
	COL_INT(struct job_in, id, 0),
	COL_INT(struct job_in, router_id, 0),
	COL_INT(struct job_in, batch, 0),
	COL_INT(struct job_in, seconds, 0),
	COL_INT(struct job_in, tries, 0),
	COL_INT(struct job_in, ok, 0),
	COL_STR(struct job_in, owner, COL_F_NULL),
	COL_STR(struct job_in, status, COL_F_NULL),
	COL_STR(struct job_in, last_error, COL_F_NULL),
	COL_END
};
static const struct rowtype job_in =
    ROWTYPE(struct job_in, "provision_job_in", job_in_cols);

static const struct sort_def job_sorts[] = {
	{ "-id", "id DESC" },
	{ "id", "id ASC" },
	{ NULL, NULL }
};

#define JOB_FILTER " WHERE tenant_id = :tenant" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:customer_id IS NULL OR customer_id = :customer_id)" \
	" AND (:router_id IS NULL OR router_id = :router_id)"
#define ROUTER_ID " WHERE tenant_id = :tenant AND id = :id"
/* UPDATEs of a router go through its primary key: see lib/store/router.c. */
#define BY_KEY " FORCE INDEX (PRIMARY)"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_RETRY, S_DUE, S_LEASE, S_RELEASE,
	S_FAILURES, S_ROUTER_RESULT, S_UNPAUSE, S_CLAIM, S_TAKE, S_RUNNING,
	S_FINISH, S_IMPORTED,
	S_FAIL_ROUTER, S_UNFINISHED,
};

const struct stmt_def store_provision_stmts[] = {
	[S_GET] = { "provision_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM provisioning_jobs" ROUTER_ID,
	     &db_id_in, &provision_job_row, NULL },
	[S_LOCK] = { "provision_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM provisioning_jobs" ROUTER_ID " FOR UPDATE",
	     &db_id_in, &provision_job_row, NULL },
	[S_LIST] = { "provision_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM provisioning_jobs" JOB_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &filter_in, &provision_job_row, job_sorts },
	[S_COUNT] = { "provision_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM provisioning_jobs" JOB_FILTER,
	     &filter_in, &db_count_row, NULL },
	[S_RETRY] = { "provision_retry", SCOPE_TENANT,
	     "UPDATE provisioning_jobs SET status = 'pending', attempts = 0,"
	     " run_after = UTC_TIMESTAMP(), last_error = NULL, done_at = NULL"
	     ROUTER_ID " AND status = 'failed'", &db_id_in, NULL, NULL },
	/*
	 * Jobs left running count as due once their router's lease ran out:
	 * their daemon died in the middle of a pass.  Routers that failed
	 * their last passes come last, so that one that hangs until its
	 * timeouts delays the healthy ones as little as possible.
	 */
	[S_DUE] = { "provision_due", SCOPE_GLOBAL,
	     "SELECT j.router_id AS id, j.tenant_id FROM provisioning_jobs j"
	     " JOIN routers r ON r.id = j.router_id"
	     " WHERE j.status IN ('pending', 'running')"
	     " AND j.run_after <= UTC_TIMESTAMP()"
	     " AND (r.prov_retry_at IS NULL OR r.prov_retry_at <= UTC_TIMESTAMP())"
	     " AND (r.prov_lease_until IS NULL"
	     " OR r.prov_lease_until < UTC_TIMESTAMP())"
	     " GROUP BY j.router_id, j.tenant_id"
	     " ORDER BY MAX(r.prov_failures), MIN(j.id)"
	     " LIMIT :batch", &job_in, &due_row, NULL },
	[S_LEASE] = { "provision_lease", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET prov_owner = :owner,"
	     " prov_lease_until = UTC_TIMESTAMP() + INTERVAL :seconds SECOND"
	     ROUTER_ID " AND (prov_lease_until IS NULL"
	     " OR prov_lease_until < UTC_TIMESTAMP() OR prov_owner = :owner)",
	     &job_in, NULL, NULL },
	[S_RELEASE] = { "provision_release", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET prov_owner = NULL, prov_lease_until = NULL"
	     ROUTER_ID " AND prov_owner = :owner", &job_in, NULL, NULL },
	[S_FAILURES] = { "provision_failures", SCOPE_TENANT,
	     "SELECT prov_failures AS failures FROM routers" ROUTER_ID,
	     &db_id_in, &failures_row, NULL },
	[S_ROUTER_RESULT] = { "provision_router_result", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET"
	     " prov_failures = IF(:ok, 0, prov_failures + 1),"
	     " prov_retry_at = IF(:ok, NULL,"
	     " UTC_TIMESTAMP() + INTERVAL :seconds SECOND)" ROUTER_ID,
	     &job_in, NULL, NULL },
	[S_UNPAUSE] = { "provision_unpause", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET prov_failures = 0, prov_retry_at = NULL"
	     ROUTER_ID, &db_id_in, NULL, NULL },
	[S_CLAIM] = { "provision_claim", SCOPE_TENANT,
	     "SELECT {COLS} FROM provisioning_jobs j"
	     " WHERE j.tenant_id = :tenant AND j.router_id = :router_id"
	     " AND j.status IN ('pending', 'running')"
	     " AND j.run_after <= UTC_TIMESTAMP()"
	     " AND NOT EXISTS (SELECT 1 FROM provisioning_jobs e"
	     " WHERE e.tenant_id = :tenant AND e.router_id = j.router_id"
	     " AND e.customer_id = j.customer_id AND e.id < j.id"
	     " AND e.status IN ('pending', 'running')"
	     " AND e.run_after > UTC_TIMESTAMP())"
	     " ORDER BY j.id LIMIT :batch",
	     &job_in, &provision_job_row, NULL },
	[S_TAKE] = { "provision_take", SCOPE_TENANT,
	     "SELECT {COLS} FROM provisioning_jobs" ROUTER_ID
	     " AND status IN ('pending', 'running') FOR UPDATE SKIP LOCKED",
	     &job_in, &provision_job_row, NULL },
	[S_RUNNING] = { "provision_running", SCOPE_TENANT,
	     "UPDATE provisioning_jobs SET status = 'running',"
	     " max_attempts = IF(attempts = 0, :batch, max_attempts)"
	     ROUTER_ID, &job_in, NULL, NULL },
	[S_FINISH] = { "provision_finish", SCOPE_TENANT,
	     "UPDATE provisioning_jobs SET status = :status,"
	     " attempts = attempts + :tries, last_error = :last_error,"
	     " run_after = IF(:status = 'pending',"
	     " UTC_TIMESTAMP() + INTERVAL :seconds SECOND, run_after),"
	     " done_at = IF(:status = 'pending', NULL, UTC_TIMESTAMP())"
	     ROUTER_ID, &job_in, NULL, NULL },
	[S_FAIL_ROUTER] = { "provision_fail_router", SCOPE_TENANT,
	     "UPDATE provisioning_jobs SET status = 'failed',"
	     " last_error = :last_error, done_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND router_id = :router_id"
	     " AND status IN ('pending', 'running')", &job_in, NULL, NULL },
	/* Customers an import made: one read instead of one per customer. */
	[S_IMPORTED] = { "provision_imported", SCOPE_TENANT,
	     "SELECT {COLS} FROM customers WHERE tenant_id = :tenant"
	     " AND router_id = :router_id AND id >= :id"
	     " AND deleted_at IS NULL ORDER BY id",
	     &job_in, &customer_row, NULL },
	[S_UNFINISHED] = { "provision_unfinished", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM provisioning_jobs"
	     " WHERE tenant_id = :tenant AND router_id = :router_id"
	     " AND status IN ('pending', 'running')", &job_in, &db_count_row,
	     NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_provision_stmts;

const struct store_list store_provision_list = {
    .row = &provision_job_row,
    .filter_size = sizeof(struct provision_job_filter),
    .sorts = job_sorts,
    .page = &store_provision_stmts[S_LIST],
    .count = &store_provision_stmts[S_COUNT],
};

int
store_provision_get(struct tdb *t, int64_t id, struct provision_job *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_provision_lock(struct tdb *t, int64_t id, struct provision_job *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_provision_retry(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_RETRY], &in, NULL);
}

int
store_provision_due(struct db *db, struct arena *a, int64_t limit,
                    struct rows *out)
{
	struct job_in in = {.batch = limit};

	return db_exec(db, a, &S[S_DUE], &in, out);
}

int
store_provision_lease(struct tdb *t, int64_t id, const char *owner,
                      int64_t seconds)
{
	struct job_in in = {.id = id, .owner = owner, .seconds = seconds};
	struct rows res;

	if (tdb_exec(t, &S[S_LEASE], &in, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_provision_release(struct tdb *t, int64_t id, const char *owner)
{
	struct job_in in = {.id = id, .owner = owner};

	return tdb_exec(t, &S[S_RELEASE], &in, NULL);
}

int
store_provision_router_result(struct tdb *t, int64_t id, int ok,
                              int64_t pause_seconds)
{
	struct job_in in = {.id = id, .ok = ok, .seconds = pause_seconds};

	return tdb_exec(t, &S[S_ROUTER_RESULT], &in, NULL);
}

int
store_provision_router_failures(struct tdb *t, int64_t id, int64_t *n)
{
	struct db_id key = {id};
	struct failures f = {0};

	if (tdb_one(t, &S[S_FAILURES], &key, &f) < 0)
		return -1;
	*n = f.failures;
	return 0;
}

int
store_provision_router_unpause(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_UNPAUSE], &in, NULL);
}

/*
 * Whether candidate i has a customer whose earlier candidate was left
 * out (its id set to 0); skipped counts those, so that the scan costs
 * nothing when none was.
 */
static int
later_than_skipped(const struct rows *c, size_t i, size_t skipped)
{
	const struct provision_job *j = rows_at(c, i);

	for (size_t k = 0; k < i && skipped; k++) {
		const struct provision_job *e = rows_at(c, k);

		if (e->id == 0 && e->customer_id == j->customer_id)
			return 1;
	}
	return 0;
}

int
store_provision_claim(struct tdb *t, int64_t router_id, int64_t limit,
                      int64_t max_attempts, struct rows *out)
{
	struct job_in in = {.router_id = router_id, .batch = limit};
	size_t kept = 0, skipped = 0;

	/*
	 * The candidates are read without locks, then each is taken by its
	 * key with FOR UPDATE SKIP LOCKED and marked running (as the mailer
	 * claims its rows).  One locking scan over the candidates took
	 * next-key locks on the status index, and two passes of different
	 * routers, whose UPDATEs insert into the same gaps of that index,
	 * deadlocked.  A lookup by key locks that row and no gap.  The
	 * router's lease already keeps every other pass off these jobs; the
	 * row lock orders this claim with the retry endpoint, and a job that
	 * is locked or no longer pending or running is left for later.
	 */
	if (tdb_exec(t, &S[S_CLAIM], &in, out) < 0)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		struct provision_job *j = rows_at(out, i), now;
		struct job_in key = {.id = j->id, .batch = max_attempts};
		int rc = later_than_skipped(out, i, skipped)
		             ? 0
		             : tdb_one(t, &S[S_TAKE], &key, &now);

		if (rc < 0)
			return -1;
		if (rc == 0) {
			/* Its customer's later jobs wait for it. */
			j->id = 0;
			skipped++;
			continue;
		}
		if (tdb_exec(t, &S[S_RUNNING], &key, NULL) < 0)
			return -1;
		if (now.attempts == 0)
			now.max_attempts = max_attempts;
		memcpy(j, &now, sizeof(now));
	}
	/* Only now: the scan above reads the marks of the left-out ones. */
	for (size_t i = 0; i < out->n; i++) {
		struct provision_job *j = rows_at(out, i);

		if (j->id == 0)
			continue;
		if (kept != i)
			memcpy(rows_at(out, kept), j, sizeof(*j));
		kept++;
	}
	out->n = kept;
	return 0;
}

int
store_provision_finish(struct tdb *t, int64_t id, const char *status,
                       int64_t tries, int64_t delay, const char *error)
{
	struct job_in in = {.id = id,
	                    .status = status,
	                    .tries = tries,
	                    .seconds = delay,
	                    .last_error = error};

	return tdb_exec(t, &S[S_FINISH], &in, NULL);
}

int
store_provision_fail_router(struct tdb *t, int64_t router_id, const char *error)
{
	struct job_in in = {.router_id = router_id, .last_error = error};

	return tdb_exec(t, &S[S_FAIL_ROUTER], &in, NULL);
}

int
store_provision_unfinished(struct tdb *t, int64_t router_id, int64_t *n)
{
	struct job_in in = {.router_id = router_id};
	struct db_count c = {0};

	if (tdb_one(t, &S[S_UNFINISHED], &in, &c) < 0)
		return -1;
	*n = c.n;
	return 0;
}

int
store_provision_imported(struct tdb *t, int64_t router_id, int64_t first_id,
                         struct rows *out)
{
	struct job_in in = {.id = first_id, .router_id = router_id};

	return tdb_exec(t, &S[S_IMPORTED], &in, out);
}
