#include "store/backup.h"

#include <string.h>

#include "buf.h"
#include "db.h"
#include "store/list.h"

const char *const backup_statuses[] = {"queued", "running", "completed",
                                       "failed", "pruned",  NULL};
const char *const backup_verify_statuses[] = {"queued", "running", "passed",
                                              "failed", NULL};

/* clang-format off */
#define BACKUP_COLS_ \
	COL_INT(struct backup, id, 0), \
	COL_STR(struct backup, status, 0), \
	COL_STR(struct backup, source, 0), \
	COL_INT(struct backup, requested_by, COL_F_NULL), \
	COL_STR(struct backup, host, COL_F_NULL), \
	COL_STR(struct backup, file_name, COL_F_NULL), \
	COL_INT(struct backup, key_id, COL_F_NULL), \
	COL_INT(struct backup, plain_bytes, COL_F_NULL), \
	COL_STR(struct backup, plain_sha256, COL_F_NULL), \
	COL_INT(struct backup, file_bytes, COL_F_NULL), \
	COL_STR(struct backup, file_sha256, COL_F_NULL), \
	COL_INT(struct backup, server_id, COL_F_NULL), \
	COL_STR(struct backup, binlog_file, COL_F_NULL), \
	COL_INT(struct backup, binlog_pos, COL_F_NULL), \
	COL_STR(struct backup, gtid_pos, COL_F_NULL), \
	COL_INT(struct backup, schema_version, COL_F_NULL), \
	COL_STR(struct backup, error, COL_F_NULL), \
	COL_TIME(struct backup, started_at, COL_F_NULL), \
	COL_TIME(struct backup, finished_at, COL_F_NULL), \
	COL_STR(struct backup, verify_status, COL_F_NULL), \
	COL_STR(struct backup, verify_error, COL_F_NULL), \
	COL_TIME(struct backup, verified_at, COL_F_NULL), \
	COL_TIME(struct backup, pruned_at, COL_F_NULL), \
	COL_TIME(struct backup, created_at, 0), \
	COL_TIME(struct backup, updated_at, 0)

static const struct col backup_cols[] = {
	BACKUP_COLS_,
	COL_END
};
const struct rowtype backup_row = ROWTYPE(struct backup, "backup", backup_cols);

static const struct col backup_detail_cols[] = {
	BACKUP_COLS_,
	COL_JSON(struct backup, manifest, COL_F_NULL),
	COL_END
};
const struct rowtype backup_detail_row =
    ROWTYPE(struct backup, "backup_detail", backup_detail_cols);

static const struct col filter_cols[] = {
	COL_STR(struct backup_filter, status, COL_F_NULL),
	COL_END
};
static const struct rowtype filter_in =
    ROWTYPE(struct backup_filter, "backup_filter", filter_cols);

static const struct col ref_cols[] = {
	COL_INT(struct backup_ref, id, 0),
	COL_END
};
static const struct rowtype ref_row =
    ROWTYPE(struct backup_ref, "backup_ref", ref_cols);

static const struct col done_cols[] = {
	COL_INT(struct backup_done, id, 0),
	COL_STR(struct backup_done, file_name, 0),
	COL_INT(struct backup_done, key_id, 0),
	COL_INT(struct backup_done, plain_bytes, 0),
	COL_STR(struct backup_done, plain_sha256, 0),
	COL_INT(struct backup_done, file_bytes, 0),
	COL_STR(struct backup_done, file_sha256, 0),
	COL_INT(struct backup_done, server_id, 0),
	COL_STR(struct backup_done, binlog_file, COL_F_NULL),
	COL_INT(struct backup_done, binlog_pos, COL_F_NULL),
	COL_STR(struct backup_done, gtid_pos, COL_F_NULL),
	COL_INT(struct backup_done, schema_version, 0),
	COL_JSON(struct backup_done, manifest, 0),
	COL_END
};
static const struct rowtype done_in =
    ROWTYPE(struct backup_done, "backup_done", done_cols);

/* What the other writing statements bind. */
struct backup_in {
	int64_t id, requested_by;
	const char *source, *host, *started_at, *error, *status, *name;
};
static const struct col in_cols[] = {
	COL_INT(struct backup_in, id, 0),
	COL_INT(struct backup_in, requested_by, COL_F_NULL),
	COL_STR(struct backup_in, source, COL_F_NULL),
	COL_STR(struct backup_in, host, COL_F_NULL),
	COL_STR(struct backup_in, started_at, COL_F_NULL),
	COL_STR(struct backup_in, error, COL_F_NULL),
	COL_STR(struct backup_in, status, COL_F_NULL),
	COL_STR(struct backup_in, name, COL_F_NULL),
	COL_END
};
static const struct rowtype backup_in =
    ROWTYPE(struct backup_in, "backup_in", in_cols);

static const struct col server_cols[] = {
	COL_INT(struct backup_server, server_id, 0),
	COL_STR(struct backup_server, version, 0),
	COL_BOOL(struct backup_server, log_bin, 0),
	COL_STR(struct backup_server, log_bin_basename, 0),
	COL_STR(struct backup_server, db, COL_F_NULL),
	COL_END
};
static const struct rowtype server_row =
    ROWTYPE(struct backup_server, "backup_server", server_cols);

struct version_row {
	int64_t version;
};
static const struct col version_cols[] = {
	COL_INT(struct version_row, version, 0),
	COL_END
};
static const struct rowtype version_row =
    ROWTYPE(struct version_row, "backup_schema_version", version_cols);

static const struct col table_cols[] = {
	COL_STR(struct backup_table, name, 0),
	COL_END
};
static const struct rowtype table_row =
    ROWTYPE(struct backup_table, "backup_table", table_cols);

static const struct col binlog_cols[] = {
	COL_STR(struct backup_binlog, Log_name, 0),
	COL_INT(struct backup_binlog, File_size, 0),
	COL_END
};
static const struct rowtype binlog_row =
    ROWTYPE(struct backup_binlog, "backup_binlog", binlog_cols);

/* Newest first: ids grow with time. */
static const struct sort_def backup_sorts[] = {
	{ "-created_at", "id DESC" },
	{ "created_at", "id ASC" },
	{ NULL, NULL }
};

#define BACKUP_FILTER " WHERE (:status IS NULL OR status = :status)"

enum {
	S_GET, S_LIST, S_COUNT, S_ACTIVE, S_QUEUE, S_START, S_INSERT_FAILED,
	S_NEXT_QUEUED, S_CLAIM, S_COMPLETE, S_FAIL, S_STALE, S_PRUNED,
	S_COUNT_ALL, S_VERIFY_QUEUE, S_VERIFY_NEXT, S_VERIFY_CLAIM,
	S_VERIFIED, S_VERIFY_STALE, S_SERVER, S_SCHEMA_VERSION, S_TABLES,
	S_SCHEMA_TABLES, S_BINLOGS, S_FLUSH_BINLOGS,
};

const struct stmt_def store_backup_stmts[] = {
	[S_GET] = { "backup_get", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM backups WHERE id = :id",
	     &db_id_in, &backup_detail_row, NULL },
	[S_LIST] = { "backup_list", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM backups" BACKUP_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &filter_in, &backup_row, backup_sorts },
	[S_COUNT] = { "backup_count", SCOPE_GLOBAL,
	     "SELECT COUNT(*) AS n FROM backups" BACKUP_FILTER,
	     &filter_in, &db_count_row, NULL },
	[S_ACTIVE] = { "backup_active", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM backups"
	     " WHERE status IN ('queued', 'running') ORDER BY id LIMIT 1",
	     NULL, &backup_detail_row, NULL },
	/* uq_backups_queued refuses a second queued row (DBE_DUPLICATE). */
	[S_QUEUE] = { "backup_queue", SCOPE_GLOBAL,
	     "INSERT INTO backups (status, source, requested_by)"
	     " VALUES ('queued', 'api', :requested_by)",
	     &backup_in, NULL, NULL },
	[S_START] = { "backup_start", SCOPE_GLOBAL,
	     "INSERT INTO backups (status, source, host, started_at)"
	     " VALUES ('running', :source, :host, UTC_TIMESTAMP())",
	     &backup_in, NULL, NULL },
	[S_INSERT_FAILED] = { "backup_insert_failed", SCOPE_GLOBAL,
	     "INSERT INTO backups (status, source, host, started_at,"
	     " finished_at, error)"
	     " VALUES ('failed', :source, :host, :started_at, UTC_TIMESTAMP(),"
	     " :error)", &backup_in, NULL, NULL },
	[S_NEXT_QUEUED] = { "backup_next_queued", SCOPE_GLOBAL,
	     "SELECT id FROM backups WHERE status = 'queued'"
	     " ORDER BY id LIMIT 1", NULL, &ref_row, NULL },
	/* Taking a queued row: only one run can move it to running. */
	[S_CLAIM] = { "backup_claim", SCOPE_GLOBAL,
	     "UPDATE backups SET status = 'running', host = :host,"
	     " started_at = UTC_TIMESTAMP(), error = NULL"
	     " WHERE id = :id AND status = 'queued'",
	     &backup_in, NULL, NULL },
	[S_COMPLETE] = { "backup_complete", SCOPE_GLOBAL,
	     "UPDATE backups SET status = 'completed', file_name = :file_name,"
	     " key_id = :key_id, plain_bytes = :plain_bytes,"
	     " plain_sha256 = :plain_sha256, file_bytes = :file_bytes,"
	     " file_sha256 = :file_sha256, server_id = :server_id,"
	     " binlog_pos = :binlog_pos, binlog_file = :binlog_file,"
	     " schema_version = :schema_version, gtid_pos = :gtid_pos,"
	     " manifest = :manifest, finished_at = UTC_TIMESTAMP()"
	     " WHERE id = :id AND status = 'running'",
	     &done_in, NULL, NULL },
	[S_FAIL] = { "backup_fail", SCOPE_GLOBAL,
	     "UPDATE backups SET status = 'failed', error = :error,"
	     " finished_at = UTC_TIMESTAMP()"
	     " WHERE id = :id AND status IN ('queued', 'running')",
	     &backup_in, NULL, NULL },
	/* Rows a run on this host left running: it died. */
	[S_STALE] = { "backup_stale", SCOPE_GLOBAL,
	     "SELECT id FROM backups WHERE status = 'running' AND host = :host"
	     " ORDER BY id", &backup_in, &ref_row, NULL },
	[S_PRUNED] = { "backup_pruned", SCOPE_GLOBAL,
	     "UPDATE backups SET status = 'pruned',"
	     " pruned_at = UTC_TIMESTAMP()"
	     " WHERE id = :id AND status = 'completed'",
	     &db_id_in, NULL, NULL },
	[S_COUNT_ALL] = { "backup_count_all", SCOPE_GLOBAL,
	     "SELECT COUNT(*) AS n FROM backups", NULL, &db_count_row, NULL },
	/*
	 * Only a completed backup can be verified, and one verification
	 * at a time: the condition is the whole check, so two requests
	 * cannot both queue one.
	 */
	[S_VERIFY_QUEUE] = { "backup_verify_queue", SCOPE_GLOBAL,
	     "UPDATE backups SET verify_status = 'queued',"
	     " verify_error = NULL, verify_host = NULL"
	     " WHERE id = :id AND status = 'completed'"
	     " AND (verify_status IS NULL"
	     " OR verify_status IN ('passed', 'failed'))",
	     &db_id_in, NULL, NULL },
	[S_VERIFY_NEXT] = { "backup_verify_next", SCOPE_GLOBAL,
	     "SELECT id FROM backups WHERE verify_status = 'queued'"
	     " ORDER BY id LIMIT 1", NULL, &ref_row, NULL },
	[S_VERIFY_CLAIM] = { "backup_verify_claim", SCOPE_GLOBAL,
	     "UPDATE backups SET verify_status = 'running',"
	     " verify_host = :host WHERE id = :id AND verify_status = 'queued'",
	     &backup_in, NULL, NULL },
	/*
	 * A result; a queued verification is left to run (a verification
	 * from the command line that finishes meanwhile does not cancel
	 * it).
	 */
	[S_VERIFIED] = { "backup_verified", SCOPE_GLOBAL,
	     "UPDATE backups SET verify_status = :status,"
	     " verify_error = :error, verified_at = UTC_TIMESTAMP()"
	     " WHERE id = :id"
	     " AND (verify_status IS NULL OR verify_status <> 'queued')",
	     &backup_in, NULL, NULL },
	[S_VERIFY_STALE] = { "backup_verify_stale", SCOPE_GLOBAL,
	     "UPDATE backups SET verify_status = 'failed',"
	     " verify_error = :error, verified_at = UTC_TIMESTAMP()"
	     " WHERE verify_status = 'running' AND verify_host = :host",
	     &backup_in, NULL, NULL },
	[S_SERVER] = { "backup_server", SCOPE_GLOBAL,
	     "SELECT @@server_id AS server_id, @@version AS version,"
	     " @@log_bin AS log_bin,"
	     " COALESCE(@@log_bin_basename, '') AS log_bin_basename,"
	     " DATABASE() AS db", NULL, &server_row, NULL },
	[S_SCHEMA_VERSION] = { "backup_schema_version", SCOPE_GLOBAL,
	     "SELECT COALESCE(MAX(version), 0) AS version"
	     " FROM schema_migrations", NULL, &version_row, NULL },
	[S_TABLES] = { "backup_tables", SCOPE_GLOBAL,
	     "SELECT table_name AS name FROM information_schema.tables"
	     " WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	     " ORDER BY table_name", NULL, &table_row, NULL },
	[S_SCHEMA_TABLES] = { "backup_schema_tables", SCOPE_GLOBAL,
	     "SELECT COUNT(*) AS n FROM information_schema.tables"
	     " WHERE table_schema = :name", &backup_in, &db_count_row, NULL },
	[S_BINLOGS] = { "backup_binlogs", SCOPE_GLOBAL,
	     "SHOW BINARY LOGS", NULL, &binlog_row, NULL },
	[S_FLUSH_BINLOGS] = { "backup_flush_binlogs", SCOPE_GLOBAL,
	     "FLUSH BINARY LOGS", NULL, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_backup_stmts;

const struct store_list store_backup_list = {
    .row = &backup_row,
    .filter_size = sizeof(struct backup_filter),
    .sorts = backup_sorts,
    .page = &store_backup_stmts[S_LIST],
    .count = &store_backup_stmts[S_COUNT],
};

int
store_backup_get(struct db *db, struct arena *a, int64_t id, struct backup *out)
{
	struct db_id in = {id};

	return db_one(db, a, &S[S_GET], &in, out);
}

int
store_backup_active(struct db *db, struct arena *a, struct backup *out)
{
	return db_one(db, a, &S[S_ACTIVE], NULL, out);
}

int
store_backup_queue(struct db *db, struct arena *a, int64_t requested_by,
                   int64_t *id)
{
	struct backup_in in = {.requested_by = requested_by};
	struct rows res;

	if (db_exec(db, a, &S[S_QUEUE], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_backup_start(struct db *db, struct arena *a, const char *source,
                   const char *host, int64_t *id)
{
	struct backup_in in = {.source = source, .host = host};
	struct rows res;

	if (db_exec(db, a, &S[S_START], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_backup_insert_failed(struct db *db, struct arena *a, const char *source,
                           const char *host, const char *started_at,
                           const char *error, int64_t *id)
{
	struct backup_in in = {.source = source,
	                       .host = host,
	                       .started_at = started_at,
	                       .error = error};
	struct rows res;

	if (db_exec(db, a, &S[S_INSERT_FAILED], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

/* One id from a statement: 1 and *id, 0 none, -1. */
static int
one_id(struct db *db, struct arena *a, const struct stmt_def *def,
       const void *in, int64_t *id)
{
	struct backup_ref ref;
	int rc = db_one(db, a, def, in, &ref);

	if (rc == 1)
		*id = ref.id;
	return rc;
}

/* An UPDATE: 1 when it changed a row, 0 none, -1. */
static int
changed(struct db *db, struct arena *a, const struct stmt_def *def,
        const void *in)
{
	struct rows res;

	if (db_exec(db, a, def, in, &res) < 0)
		return -1;
	return res.affected > 0;
}

int
store_backup_next_queued(struct db *db, struct arena *a, int64_t *id)
{
	return one_id(db, a, &S[S_NEXT_QUEUED], NULL, id);
}

int
store_backup_claim(struct db *db, struct arena *a, int64_t id, const char *host)
{
	struct backup_in in = {.id = id, .host = host};

	return changed(db, a, &S[S_CLAIM], &in);
}

int
store_backup_complete(struct db *db, struct arena *a,
                      const struct backup_done *d)
{
	return changed(db, a, &S[S_COMPLETE], d);
}

int
store_backup_fail(struct db *db, struct arena *a, int64_t id, const char *error)
{
	struct backup_in in = {.id = id, .error = error};

	return changed(db, a, &S[S_FAIL], &in);
}

int
store_backup_stale(struct db *db, struct arena *a, const char *host,
                   struct rows *out)
{
	struct backup_in in = {.host = host};

	return db_exec(db, a, &S[S_STALE], &in, out);
}

int
store_backup_pruned(struct db *db, struct arena *a, int64_t id)
{
	struct db_id in = {id};

	return changed(db, a, &S[S_PRUNED], &in);
}

int
store_backup_count(struct db *db, struct arena *a, int64_t *n)
{
	struct db_count c;

	if (db_one(db, a, &S[S_COUNT_ALL], NULL, &c) != 1)
		return -1;
	*n = c.n;
	return 0;
}

int
store_backup_verify_queue(struct db *db, struct arena *a, int64_t id)
{
	struct db_id in = {id};

	return changed(db, a, &S[S_VERIFY_QUEUE], &in);
}

int
store_backup_verify_next(struct db *db, struct arena *a, const char *host,
                         int64_t *id)
{
	struct backup_in in = {.host = host};
	int rc;

	/* Another host may take it between the two: then look again. */
	for (int tries = 0; tries < 5; tries++) {
		rc = one_id(db, a, &S[S_VERIFY_NEXT], NULL, &in.id);
		if (rc <= 0)
			return rc;
		rc = changed(db, a, &S[S_VERIFY_CLAIM], &in);
		if (rc != 0) {
			*id = in.id;
			return rc;
		}
	}
	return 0;
}

int
store_backup_verified(struct db *db, struct arena *a, int64_t id,
                      const char *status, const char *error)
{
	struct backup_in in = {.id = id, .status = status, .error = error};

	return changed(db, a, &S[S_VERIFIED], &in);
}

int
store_backup_verify_stale(struct db *db, struct arena *a, const char *host,
                          const char *error)
{
	struct backup_in in = {.host = host, .error = error};
	struct rows res;

	if (db_exec(db, a, &S[S_VERIFY_STALE], &in, &res) < 0)
		return -1;
	return (int)res.affected;
}

int
store_backup_server(struct db *db, struct arena *a, struct backup_server *out)
{
	return db_one(db, a, &S[S_SERVER], NULL, out) == 1 ? 0 : -1;
}

int
store_backup_schema_version(struct db *db, struct arena *a, int64_t *v)
{
	struct version_row r;

	if (db_one(db, a, &S[S_SCHEMA_VERSION], NULL, &r) != 1)
		return -1;
	*v = r.version;
	return 0;
}

int
store_backup_tables(struct db *db, struct arena *a, struct rows *out)
{
	return db_exec(db, a, &S[S_TABLES], NULL, out);
}

int
store_backup_schema_tables(struct db *db, struct arena *a, const char *name,
                           int64_t *n)
{
	struct backup_in in = {.name = name};
	struct db_count c;

	if (db_one(db, a, &S[S_SCHEMA_TABLES], &in, &c) != 1)
		return -1;
	*n = c.n;
	return 0;
}

int
store_backup_binlogs(struct db *db, struct arena *a, struct rows *out)
{
	return db_exec(db, a, &S[S_BINLOGS], NULL, out);
}

int
store_backup_flush_binlogs(struct db *db, struct arena *a)
{
	return db_exec(db, a, &S[S_FLUSH_BINLOGS], NULL, NULL);
}

static int
ident_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int
store_backup_load_prologue(struct buf *b, const char *name, int replace)
{
	if (!ident_ok(name))
		return -1;
	if (replace)
		buf_addf(b, "DROP DATABASE IF EXISTS `%s`;\n", name);
	buf_addf(b,
	         "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
	         "COLLATE utf8mb4_unicode_ci;\nUSE `%s`;\n",
	         name, name);
	return b->over ? -1 : 0;
}
