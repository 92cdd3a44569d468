/*
 * The backups table and the server facts rtrw-backup needs
 * (lib/backupjob.c).  All global: backups belong to the platform.
 *
 * The job runs these as the backup account (db_backup_user), which may
 * read every table, write only the backups table, and see and rotate the
 * binary logs (BINLOG MONITOR, RELOAD); see the README.  The API prepares
 * them at start-up like every statement: preparing checks the SQL and
 * the tables, while the privileges of SHOW BINARY LOGS and FLUSH BINARY
 * LOGS are only checked when they run, and the API never runs them.
 *
 * XXX statements written for the current data layer; issue 9 converts
 * them to named parameters.
 */
#include "store/store.h"

#define BACKUP_COLS                                                            \
	"id, status, source, requested_by, host, file_name, key_id,"           \
	" plain_bytes, plain_sha256, file_bytes, file_sha256, server_id,"      \
	" binlog_file, binlog_pos, gtid_pos, schema_version, error,"           \
	" started_at, finished_at, verify_status, verify_error, verified_at,"  \
	" pruned_at, created_at, updated_at"

/* clang-format off */
const struct stmt_def store_backup_stmts[] = {
	[BACKUP_INSERT] = STMT("backup_insert", SCOPE_GLOBAL, "ss",
	     "INSERT INTO backups (status, source, host, started_at)"
	     " VALUES ('running', ?, ?, UTC_TIMESTAMP())"),
	/*
	 * A failure recorded after the fact (the server was down when the
	 * backup ran; see the spool in lib/backupjob.c).
	 */
	[BACKUP_INSERT_FAILED] = STMT("backup_insert_failed", SCOPE_GLOBAL,
	     "ssss",
	     "INSERT INTO backups (status, source, host, started_at,"
	     " finished_at, error)"
	     " VALUES ('failed', ?, ?, ?, UTC_TIMESTAMP(), ?)"),
	[BACKUP_NEXT_QUEUED] = STMT("backup_next_queued", SCOPE_GLOBAL, "",
	     "SELECT id FROM backups WHERE status = 'queued'"
	     " ORDER BY id LIMIT 1"),
	/* Taking a queued row: only one run can move it to running. */
	[BACKUP_CLAIM] = STMT("backup_claim", SCOPE_GLOBAL, "si",
	     "UPDATE backups SET status = 'running', host = ?,"
	     " started_at = UTC_TIMESTAMP(), error = NULL"
	     " WHERE id = ? AND status = 'queued'"),
	[BACKUP_COMPLETE] = STMT("backup_complete", SCOPE_GLOBAL,
	     "siisisiisissi",
	     "UPDATE backups SET status = 'completed', file_name = ?,"
	     " key_id = ?, plain_bytes = ?, plain_sha256 = ?, file_bytes = ?,"
	     " file_sha256 = ?, server_id = ?, binlog_pos = ?, binlog_file = ?,"
	     " schema_version = ?, gtid_pos = ?, manifest = ?,"
	     " finished_at = UTC_TIMESTAMP()"
	     " WHERE id = ? AND status = 'running'"),
	[BACKUP_FAIL] = STMT("backup_fail", SCOPE_GLOBAL, "si",
	     "UPDATE backups SET status = 'failed', error = ?,"
	     " finished_at = UTC_TIMESTAMP()"
	     " WHERE id = ? AND status IN ('queued', 'running')"),
	/* Rows a run on this host left running: it died. */
	[BACKUP_STALE] = STMT("backup_stale", SCOPE_GLOBAL, "s",
	     "SELECT id FROM backups WHERE status = 'running' AND host = ?"
	     " ORDER BY id"),
	[BACKUP_GET] = STMT("backup_get", SCOPE_GLOBAL, "i",
	     "SELECT " BACKUP_COLS ", manifest FROM backups WHERE id = ?"),
	[BACKUP_LIST] = STMT("backup_list", SCOPE_GLOBAL, "ii",
	     "SELECT " BACKUP_COLS " FROM backups ORDER BY id DESC"
	     " LIMIT ? OFFSET ?"),
	[BACKUP_COUNT] = STMT("backup_count", SCOPE_GLOBAL, "",
	     "SELECT COUNT(*) FROM backups"),
	[BACKUP_VERIFIED] = STMT("backup_verified", SCOPE_GLOBAL, "ssi",
	     "UPDATE backups SET verify_status = ?, verify_error = ?,"
	     " verified_at = UTC_TIMESTAMP() WHERE id = ?"),
	[BACKUP_PRUNED] = STMT("backup_pruned", SCOPE_GLOBAL, "i",
	     "UPDATE backups SET status = 'pruned', pruned_at = UTC_TIMESTAMP()"
	     " WHERE id = ? AND status = 'completed'"),
	[BACKUP_SCHEMA_VERSION] = STMT("backup_schema_version", SCOPE_GLOBAL,
	     "",
	     "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"),
	[BACKUP_TABLES] = STMT("backup_tables", SCOPE_GLOBAL, "",
	     "SELECT table_name FROM information_schema.tables"
	     " WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	     " ORDER BY table_name"),
	[BACKUP_SERVER] = STMT("backup_server", SCOPE_GLOBAL, "",
	     "SELECT @@server_id, @@version, @@log_bin,"
	     " COALESCE(@@log_bin_basename, ''), DATABASE()"),
	[BACKUP_BINLOGS] = STMT("backup_binlogs", SCOPE_GLOBAL, "",
	     "SHOW BINARY LOGS"),
	[BACKUP_FLUSH_BINLOGS] = STMT("backup_flush_binlogs", SCOPE_GLOBAL, "",
	     "FLUSH BINARY LOGS"),
	[BACKUP__MAX] = STMT_END
};
/* clang-format on */
