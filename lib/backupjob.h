/*
 * Backups with point-in-time recovery (rtrw-backup; requirement 15).
 *
 * A backup is a logical dump, `mariadb-dump --single-transaction
 * --master-data=2` of db_name, streamed through the container of
 * lib/backup.h (zstd, AES-256-GCM in authenticated chunks) into
 * backup_dir/full/<UTC time>-<id>.rbk, with its manifest next to it
 * (<file>.json) and a row in the backups table.  --single-transaction
 * reads every InnoDB table in one consistent snapshot without locking
 * writers; MariaDB reports the binary log position of that very snapshot
 * (binlog_snapshot_file/position), so no FLUSH TABLES WITH READ LOCK is
 * taken either.  Why a dump and not mariadb-backup: a dump restores into
 * any server through the client protocol (the configured one, a fresh
 * one, a newer version), can be test-loaded into a scratch server
 * without stopping anything, and needs no access to the server's data
 * directory; mariadb-backup is faster to restore but only into a stopped
 * server of the same version on the same kind of host.  The README has
 * the measured figures.
 *
 * Binary logs are archived by `rtrw-backup binlog`, run every five
 * minutes by a timer: it closes the current log when it holds
 * transactions (FLUSH BINARY LOGS), then seals every closed log it has
 * not archived yet into backup_dir/binlog/<server_id>/<name>.rbk with a
 * manifest giving the time range the log covers.  The archive can
 * therefore lag the server by one timer interval: that is the recovery
 * point objective.  It reads the log files from the server's binary log
 * directory, so it runs on the database host.
 *
 * `restore ID --until T` first checks the backup and every binary log it
 * will need (each chunk, both digests), and only then touches the
 * target: it loads the dump, then replays the archived logs from the
 * backup's position with `mariadb-binlog --stop-datetime=T`, so the
 * target ends exactly as the source was at T (UTC): every transaction
 * written before T, none after.
 *
 * Every command returns the process exit status: 0 done, 1 failed.
 * Passwords reach the MariaDB tools only through an option file of mode
 * 0600 in a private directory (--defaults-file), never a command line.
 */
#ifndef RTRW_BACKUPJOB_H
#define RTRW_BACKUPJOB_H

#include <stdint.h>
#include <stdio.h>

struct arena;
struct config;
struct db;

#define BACKUPJOB_VERSION "rtrw-backup 1.0"

/*
 * Takes a backup.  A queued row (POST /platform/backups) is taken first;
 * otherwise a new row is made with source ("schedule" or "manual").  With
 * only_queued, returns 0 at once when nothing is queued.  Another run
 * holding the lock makes this one return 0 without doing anything.  A
 * failure marks the row failed (or, with the server down, records it in
 * backup_dir/failures.jsonl for the next run to write), calls
 * backupjob_report_failure() and returns 1.
 */
int backupjob_run(const struct config *c, const char *source, int only_queued,
                  FILE *out);

/*
 * Archives closed binary logs; with rotate, first closes the current log
 * if it holds transactions.  A log the server purged before it was
 * archived is an error (a gap in point-in-time recovery) but does not
 * stop the others.
 */
int backupjob_binlog(const struct config *c, int rotate, FILE *out);

/* Lists the backups (the table; the manifests when it is unreachable). */
int backupjob_list(const struct config *c, FILE *out);

/*
 * Verifies backup ref (an id, "latest", or the path of a .rbk file):
 * decrypts and checks every chunk and both digests against the manifest
 * and the table, decompresses, and with load test-loads the dump into a
 * scratch server (lib/scratchdb.h) and checks its schema version and
 * tables.  The result is recorded in the row when the table is
 * reachable; a failure is reported like a failed backup.
 */
int backupjob_verify(const struct config *c, const char *ref, int load,
                     FILE *out);

/* Where restore writes; empty strings fall back to the configuration. */
struct backupjob_target {
	char socket[256];
	char host[256];
	int port;
	char user[128];
	char password_file[256];
	char database[65];
	int replace; /* drop a database that holds tables */
};

/*
 * Restores backup ref into t, then replays the archived binary logs up
 * to until ("YYYY-MM-DD HH:MM:SS", UTC; NULL: the backup alone).  Every
 * file it needs is checked before anything is written; a target database
 * that holds tables is refused unless t->replace.
 */
int backupjob_restore(const struct config *c, const char *ref,
                      const char *until, const struct backupjob_target *t,
                      FILE *out);

/*
 * Removes backups whose manifest says they finished more than
 * backup_retention_days ago, except the newest one, and archived binary
 * logs older than that which no kept backup needs (a backup needs every
 * log from its own position on).  Needs the table, to mark rows pruned.
 */
int backupjob_prune(const struct config *c, FILE *out);

/* Lists the key ids of backup_key_dir and how many kept files use each. */
int backupjob_keys(const struct config *c, FILE *out);

/*
 * Takes every queued backup and verification (the API queues them:
 * POST /platform/backups, POST /platform/backups/{id}/verify), one at a
 * time, under the run lock: first the queued backup, if any, then each
 * queued verification with a test load.  The service of
 * rtrw-backup-queued.timer.  0 when everything taken passed (or nothing
 * was queued), 1 when something failed (it is recorded and reported).
 */
int backupjob_queued(const struct config *c, FILE *out);

/* A failure to report: of backup id, or of its verification. */
struct backupjob_failure {
	int64_t id; /* the backups row; 0 when none could be written */
	int verify; /* a verification failed, not the backup itself */
	const char *source, *host, *started_at, *error;
};

/*
 * The one place a failed backup or verification is reported: it logs
 * the failure, then, on db (the backup account's connection; NULL when
 * there is none) in a transaction of its own, raises the platform's
 * backup_failed alert (lib/store/platform_alert.h) and, when that opens
 * a new alert, queues its email to the platform admins (lib/notify.h;
 * once per alert, never per occurrence).  Strings live in a, which is reset. 0,
 * or -1 when the alert could not be recorded (no row id, the server is down):
 * a backup failure that could not reach the table is spooled and
 * reported again when the spool is written.
 */
int backupjob_report_failure(struct db *db, struct arena *a,
                             const struct backupjob_failure *f);

#endif
