/*
 * The backups table and the server facts rtrw-backup needs
 * (lib/backupjob.c), and the API's view of it (fcgi/backups.c).  All
 * global: backups belong to the platform, not to a tenant.
 *
 * The job runs these as the backup account (db_backup_user), which may
 * read every table and write only the backups, platform_alerts and
 * platform notification tables, and see and rotate the binary logs
 * (BINLOG MONITOR, RELOAD); see the README.  The API prepares them at
 * start-up like every statement: preparing checks the SQL and the
 * tables, while the privileges of SHOW BINARY LOGS and FLUSH BINARY LOGS
 * are only checked when they run, and the API never runs them.
 *
 * The life of a row: queued (POST /platform/backups) -> running (a job
 * took it, or a job started one itself) -> completed, or failed with the
 * reason; completed -> pruned (retention removed the file).  At most one
 * backup is queued at a time (a unique key on the queued rows).  A
 * completed backup's verification: NULL (never) -> queued (POST
 * /platform/backups/{id}/verify) -> running -> passed or failed, and
 * again.
 */
#ifndef RTRW_STORE_BACKUP_H
#define RTRW_STORE_BACKUP_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct buf;
struct store_list;

/*
 * A backups row.  Nullable integers are 0 for NULL (no real value of
 * them is 0: key ids start at 1, positions at 4, sizes of a dump and a
 * schema version are positive).
 */
struct backup {
	int64_t id;
	const char *status, *source;
	int64_t requested_by;
	const char *host, *file_name;
	int64_t key_id, plain_bytes;
	const char *plain_sha256;
	int64_t file_bytes;
	const char *file_sha256;
	int64_t server_id;
	const char *binlog_file;
	int64_t binlog_pos;
	const char *gtid_pos;
	int64_t schema_version;
	const char *error, *started_at, *finished_at;
	const char *verify_status, *verify_error, *verified_at, *pruned_at;
	const char *created_at, *updated_at;
	const char *manifest; /* JSON; only in backup_detail_row */
};
/* The row of a list: everything but the manifest. */
extern const struct rowtype backup_row;
/* One backup: the row and its manifest. */
extern const struct rowtype backup_detail_row;

/* The statuses and verification statuses above, NULL-terminated. */
extern const char *const backup_statuses[];
extern const char *const backup_verify_statuses[];

/* Filters of GET /platform/backups (NULL: any). */
struct backup_filter {
	const char *status;
};
/* A global list: read with store_list_fetch_global(). */
extern const struct store_list store_backup_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_backup_get(struct db *db, struct arena *a, int64_t id,
                     struct backup *out);

/*
 * The queued or running backup, if any (the oldest): 1, 0 or -1.  The
 * API refuses a second request while there is one.
 */
int store_backup_active(struct db *db, struct arena *a, struct backup *out);

/*
 * Queues a backup asked for by platform administrator requested_by.  -1
 * with DBE_DUPLICATE when one is queued already (the unique key of
 * queued rows), or another error; 0 and *id.
 */
int store_backup_queue(struct db *db, struct arena *a, int64_t requested_by,
                       int64_t *id);

/* A new running row of source ("schedule", "manual") on host: 0 or -1. */
int store_backup_start(struct db *db, struct arena *a, const char *source,
                       const char *host, int64_t *id);

/*
 * A failure recorded after the fact: the server was down when the backup
 * ran (the spool of lib/backupjob.c).  started_at "YYYY-MM-DD HH:MM:SS"
 * UTC.  0 and *id, or -1.
 */
int store_backup_insert_failed(struct db *db, struct arena *a,
                               const char *source, const char *host,
                               const char *started_at, const char *error,
                               int64_t *id);

/* The oldest queued backup: 1 and *id, 0 none, -1. */
int store_backup_next_queued(struct db *db, struct arena *a, int64_t *id);

/* Takes queued backup id for host: 1 taken, 0 someone else did, -1. */
int store_backup_claim(struct db *db, struct arena *a, int64_t id,
                       const char *host);

/* What a completed backup records (manifest: its JSON text). */
struct backup_done {
	int64_t id;
	const char *file_name;
	int64_t key_id, plain_bytes;
	const char *plain_sha256;
	int64_t file_bytes;
	const char *file_sha256;
	int64_t server_id;
	const char *binlog_file; /* NULL: binary logging is off */
	int64_t binlog_pos;      /* 0 with it */
	const char *gtid_pos;    /* may be NULL */
	int64_t schema_version;
	const char *manifest;
};

/* Running -> completed: 1, 0 (the row is not running), -1. */
int store_backup_complete(struct db *db, struct arena *a,
                          const struct backup_done *d);

/* Queued or running -> failed with error: 1, 0 (neither), -1. */
int store_backup_fail(struct db *db, struct arena *a, int64_t id,
                      const char *error);

/* A row's id, for lists of ids. */
struct backup_ref {
	int64_t id;
};

/*
 * The rows a run on host left running (it was killed) into out (rows of
 * struct backup_ref).  0 or -1.
 */
int store_backup_stale(struct db *db, struct arena *a, const char *host,
                       struct rows *out);

/* Completed -> pruned: 1, 0, -1. */
int store_backup_pruned(struct db *db, struct arena *a, int64_t id);

/* The number of rows (whether the table is reachable): 0 or -1. */
int store_backup_count(struct db *db, struct arena *a, int64_t *n);

/*
 * Verifications.  store_backup_verify_queue() queues one for a completed
 * backup whose verification is not queued or running: 1 queued, 0 not
 * (the caller reads the row to say why), -1.  store_backup_verify_next()
 * takes the oldest queued verification for host: 1 and *id, 0 none, -1.
 * store_backup_verified() records a result ("passed", or "failed" with
 * error), unless a verification is queued (which then runs and records
 * its own): 1, 0, -1.  store_backup_verify_stale() fails the
 * verifications a pass on host left running: the number failed, or -1.
 */
int store_backup_verify_queue(struct db *db, struct arena *a, int64_t id);
int store_backup_verify_next(struct db *db, struct arena *a, const char *host,
                             int64_t *id);
int store_backup_verified(struct db *db, struct arena *a, int64_t id,
                          const char *status, const char *error);
int store_backup_verify_stale(struct db *db, struct arena *a, const char *host,
                              const char *error);

/* ---- the server ------------------------------------------------------ */

/* The facts of the server a connection reaches. */
struct backup_server {
	int64_t server_id;
	const char *version;
	int log_bin;
	const char *log_bin_basename; /* "" when binary logging is off */
	const char *db;               /* the connection's database */
};
int store_backup_server(struct db *db, struct arena *a,
                        struct backup_server *out);

/* The schema version of the connection's database (schema_migrations). */
int store_backup_schema_version(struct db *db, struct arena *a, int64_t *v);

/* One base table name of the connection's database. */
struct backup_table {
	const char *name;
};
/* Its base tables in name order into out (rows of struct backup_table). */
int store_backup_tables(struct db *db, struct arena *a, struct rows *out);

/*
 * The number of tables in database name on the connection's server (a
 * restore refuses a target that holds any): 0 or -1.
 */
int store_backup_schema_tables(struct db *db, struct arena *a, const char *name,
                               int64_t *n);

/*
 * One row of SHOW BINARY LOGS.  The members carry the server's column
 * names: SHOW cannot rename its columns, and results are read by name.
 */
struct backup_binlog {
	const char *Log_name;
	int64_t File_size;
};
/* The server's binary logs, oldest first (rows of struct backup_binlog). */
int store_backup_binlogs(struct db *db, struct arena *a, struct rows *out);

/* Closes the current binary log and opens the next: 0 or -1. */
int store_backup_flush_binlogs(struct db *db, struct arena *a);

/*
 * The SQL a restore or a test load sends to the mariadb client before
 * the dump, onto b: with replace, DROP DATABASE first; then CREATE
 * DATABASE IF NOT EXISTS and USE.  name must be [a-z0-9_]{1,64} (it is
 * an identifier, which no parameter can carry): -1 otherwise.
 */
int store_backup_load_prologue(struct buf *b, const char *name, int replace);

#endif
