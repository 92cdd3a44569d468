#include "backupjob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "backup.h"
#include "binlog.h"
#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "proc.h"
#include "row.h"
#include "scratchdb.h"
#include "store/backup.h"
#include "store/list.h"
#include "store/platform_alert.h"
#include "tdb.h"
#include "util.h"

#define IO_BLOCK          (256 * 1024)
#define TAIL_KEEP         8192
#define HEAD_SCAN         (64 * 1024)
#define ERR_MAX           1000 /* backups.error */
#define VERIFY_DB         "rtrw_verify"
#define SPOOL_FILE        "failures.jsonl"
#define SPOOL_MAX         (1024 * 1024)
#define MANIFEST_MAX      (4 * 1024 * 1024)
#define ALERT_MESSAGE_MAX 500 /* platform_alerts.message */

/*
 * Paths here are built from configuration strings (under 256 bytes),
 * file names (under 256) and fixed parts, into buffers of 4 KiB and
 * more, so they cannot be cut short; error sentences may be, on purpose.
 * GCC cannot see the first and warns about the second.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* ---- small helpers ----------------------------------------------------- */

/* A job's state: the configuration, the keys, the backup account. */
struct job {
	const struct config *c;
	struct backup_keyring ring;
	int have_ring;
	struct db *db;
	struct arena a;
	char host[256];
	char tmp[4096]; /* private directory for option files and logs */
	FILE *out;
};

static void
job_init(struct job *j, const struct config *c, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->c = c;
	j->out = out;
	arena_init(&j->a, 64 * 1024 * 1024);
	if (gethostname(j->host, sizeof(j->host) - 1) < 0)
		snprintf(j->host, sizeof(j->host), "localhost");
	/* The job writes the backups and writes them only for itself. */
	umask(077);
	/* A loader that dies must show as EPIPE, not kill the job. */
	signal(SIGPIPE, SIG_IGN);
}

static void
job_release(struct job *j)
{
	if (j->tmp[0])
		scratchdb_remove_tree(j->tmp);
	j->tmp[0] = '\0';
	db_close(j->db);
	j->db = NULL;
	arena_release(&j->a);
	backup_keyring_release(&j->ring);
}

/*
 * The backup account's connection.  db_open() knows the accounts of
 * tdb.h; the backup account is handed to it as the application account
 * of a copy of the configuration, so that no other part of the program
 * learns of it.
 */
static struct db *
job_db(struct job *j)
{
	struct config bc = *j->c;
	char err[512];

	if (j->db)
		return j->db;
	config_wipe(&bc);
	snprintf(bc.db_user, sizeof(bc.db_user), "%s", j->c->db_backup_user);
	snprintf(bc.db_password_file, sizeof(bc.db_password_file), "%s",
	         j->c->db_backup_password_file);
	j->db = db_open(&bc, DB_ACCOUNT_APP, err, sizeof(err));
	explicit_bzero(&bc, sizeof(bc));
	if (!j->db)
		log_error("backup account unusable: %s", err);
	return j->db;
}

static int
job_keys(struct job *j, char *err, size_t errlen)
{
	if (j->have_ring)
		return 0;
	if (backup_keyring_load(&j->ring, j->c->backup_key_dir, err, errlen) <
	    0)
		return -1;
	j->have_ring = 1;
	return 0;
}

/* The private temporary directory of this run (mode 0700). */
static int
job_tmp(struct job *j, char *err, size_t errlen)
{
	if (j->tmp[0])
		return 0;
	if (mkdir(j->c->backup_scratch_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %s",
		         j->c->backup_scratch_dir, strerror(errno));
		return -1;
	}
	snprintf(j->tmp, sizeof(j->tmp), "%s/rtrw-backup-XXXXXX",
	         j->c->backup_scratch_dir);
	if (!mkdtemp(j->tmp)) {
		snprintf(err, errlen, "cannot create a directory in '%s': %s",
		         j->c->backup_scratch_dir, strerror(errno));
		j->tmp[0] = '\0';
		return -1;
	}
	return 0;
}

static void
fmt_time(time_t t, char *out, size_t n, int rfc3339)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, rfc3339 ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S",
	         &tm);
}

/*
 * Parses "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SSZ" as UTC.  0 or
 * -1 (also for impossible dates such as February 30).
 */
static int
parse_time(const char *s, time_t *out)
{
	struct tm tm, back;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) < 19)
		return -1;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || (*end != ' ' && *end != 'T'))
		return -1;
	end = strptime(end + 1, "%H:%M:%S", &tm);
	if (!end || (*end != '\0' && strcmp(end, "Z") != 0))
		return -1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon || tm.tm_year < 70)
		return -1;
	*out = t;
	return 0;
}

static int
mkdir_p(const char *path)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes text to path atomically (tmp file, fsync, rename). */
static int
write_atomic(const char *path, const char *text, size_t n)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Reads a small file whole into b; 0 or -1. */
static int
read_small(const char *path, struct buf *b, size_t max)
{
	char tmp[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		buf_add(b, tmp, (size_t)n);
		if (b->len > max) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return n < 0 || b->over ? -1 : 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Takes an flock on backup_dir/name; the fd, or -1 when it is held. */
static int
lock_take(const struct config *c, const char *name, int how)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", c->backup_dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -2;
	if (flock(fd, how) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
ident_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Appends s to an option file value: double-quoted, \ and " escaped. */
static void
opt_value(struct buf *b, const char *key, const char *s)
{
	buf_addf(b, "%s=\"", key);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_addch(b, '\\');
		buf_addch(b, *s);
	}
	buf_adds(b, "\"\n");
}

/*
 * Writes a [client] option file for the MariaDB tools into the job's
 * private directory: the password goes there, never on a command line.
 * password_file may be empty (socket authentication).  Returns 0 and the
 * path, or -1 with err.
 */
static int
write_defaults(struct job *j, const char *name, const char *user,
               const char *password_file, const char *socket, const char *host,
               int port, char *path, size_t pathlen, char *err, size_t errlen)
{
	char pw[256];
	struct buf b = BUF_INIT(8192);
	int fd, rc = -1;

	if (job_tmp(j, err, errlen) < 0)
		return -1;
	if (config_read_password(password_file, pw, sizeof(pw), err, errlen) <
	    0)
		return -1;
	buf_adds(&b, "[client]\n");
	opt_value(&b, "user", user);
	if (pw[0])
		opt_value(&b, "password", pw);
	if (socket && socket[0]) {
		opt_value(&b, "socket", socket);
	} else {
		opt_value(&b, "host", host);
		buf_addf(&b, "port=%d\nprotocol=tcp\n", port);
	}
	buf_addf(&b, "default-character-set=utf8mb4\n");
	explicit_bzero(pw, sizeof(pw));
	snprintf(path, pathlen, "%s/%s.cnf", j->tmp, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, b.s, b.len) < 0)
		snprintf(err, errlen, "cannot write the option file: %s",
		         strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	explicit_bzero(b.s, b.len);
	buf_release(&b);
	return rc;
}

/* Overwrites and removes an option file. */
static void
drop_defaults(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			char zero[512] = {0};

			for (off_t o = 0; o < st.st_size; o += sizeof(zero))
				if (write(fd, zero, sizeof(zero)) < 0)
					break;
			fsync(fd);
		}
		close(fd);
	}
	unlink(path);
}

/* The first line of `tool --version`. */
static void
tool_version(const char *tool, char *out, size_t n)
{
	const char *argv[] = {tool, "--version", NULL};
	char err[256];

	if (proc_run(argv, NULL, out, n, err, sizeof(err)) != 0)
		snprintf(out, n, "%s (version unknown)", tool);
	out[strcspn(out, "\n")] = '\0';
}

/* ---- failures -------------------------------------------------------- */

/* s cut to at most max bytes without splitting a UTF-8 character. */
static void
copy_text(char *out, size_t outlen, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (max >= outlen)
		max = outlen - 1;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * The email's variables: exactly those the backup_failed template
 * documents (lib/template.c; the mailer adds recipient_name).  The
 * template has no word for the kind of failure, so a failed
 * verification says so in its error.  started_at is the row's, as the
 * API shows it (RFC 3339): the job's own clock started a moment before
 * it took the row, and for a verification the backup's start is what
 * the template's "Backup N, started at T" means.
 */
static cJSON *
mail_payload(struct db *db, struct arena *a, const struct backupjob_failure *f)
{
	char error[ALERT_MESSAGE_MAX + 1], started[40];
	struct backup b;
	cJSON *p = cJSON_CreateObject();

	if (!p)
		abort();
	if (f->verify) {
		char text[ALERT_MESSAGE_MAX * 2];

		snprintf(text, sizeof(text), "verification failed: %s",
		         f->error);
		copy_text(error, sizeof(error), text, ALERT_MESSAGE_MAX);
	} else {
		copy_text(error, sizeof(error), f->error, ALERT_MESSAGE_MAX);
	}
	json_add_int(p, "backup_id", f->id);
	cJSON_AddStringToObject(p, "source", f->source ? f->source : "");
	if (store_backup_get(db, a, f->id, &b) == 1 && b.started_at)
		row_time_rfc3339(b.started_at, started, sizeof(started));
	else if (f->started_at && f->started_at[0])
		row_time_rfc3339(f->started_at, started, sizeof(started));
	else
		started[0] = '\0';
	cJSON_AddStringToObject(p, "started_at", started);
	cJSON_AddStringToObject(p, "host", f->host ? f->host : "");
	cJSON_AddStringToObject(p, "error", error);
	return p;
}

int
backupjob_report_failure(struct db *db, struct arena *a,
                         const struct backupjob_failure *f)
{
	char message[ALERT_MESSAGE_MAX + 1], subject[32], dedupe[64];
	char *details_text;
	cJSON *details, *payload = NULL;
	int64_t alert_id;
	int rc = -1, raised, mailed = 0;

	/* The log line first: the database may be what failed. */
	log_error("%s failed: id=%" PRId64 " error=\"%s\"",
	          f->verify ? "backup verification" : "backup", f->id,
	          f->error);
	if (!db || f->id <= 0)
		return -1;
	snprintf(subject, sizeof(subject), "%" PRId64, f->id);
	{
		char text[ALERT_MESSAGE_MAX * 2];

		snprintf(text, sizeof(text), "%s %" PRId64 " failed: %s",
		         f->verify ? "Verification of backup" : "Backup", f->id,
		         f->error);
		copy_text(message, sizeof(message), text, ALERT_MESSAGE_MAX);
	}
	details = cJSON_CreateObject();
	if (!details)
		abort();
	json_add_int(details, "backup_id", f->id);
	cJSON_AddStringToObject(details, "kind",
	                        f->verify ? "verify" : "backup");
	cJSON_AddStringToObject(details, "source", f->source ? f->source : "");
	cJSON_AddStringToObject(details, "host", f->host ? f->host : "");
	cJSON_AddStringToObject(details, "started_at",
	                        f->started_at ? f->started_at : "");
	cJSON_AddStringToObject(details, "error", f->error);
	details_text = cJSON_PrintUnformatted(details);
	if (!details_text)
		abort();
	if (db_begin(db) < 0)
		goto out;
	raised = store_platform_alert_raise(db, a, "backup_failed", "backup",
	                                    subject, message, details_text,
	                                    &alert_id);
	if (raised < 0)
		goto out_rollback;
	/*
	 * The platform admins are mailed once per alert episode, when the
	 * alert opens: a failure while it is open only counts an occurrence
	 * (the admins were told and have not looked yet; a nightly mail about
	 * the same broken backup teaches them to ignore it).  After an
	 * acknowledgement or a good backup the next failure opens a new alert
	 * and mails again.  The dedupe key names the alert, so whatever calls
	 * this, an alert's mail is queued at most once; the rows are queued
	 * in this transaction, so there is no alert without its mail and no
	 * mail without its alert.
	 */
	if (raised == 1) {
		payload = mail_payload(db, a, f);
		snprintf(dedupe, sizeof(dedupe), "backup_failed:alert:%" PRId64,
		         alert_id);
		mailed = notify_platform_admins(db, a, "backup_failed", payload,
		                                dedupe);
		if (mailed < 0)
			goto out_rollback;
	}
	if (db_commit(db) < 0)
		goto out;
	if (raised == 1) {
		log_warn("platform alert raised: id=%" PRId64
		         " type=backup_failed backup=%" PRId64 " mailed=%d",
		         alert_id, f->id, mailed);
		if (mailed == 0)
			log_warn("no active platform admin to mail about "
			         "alert %" PRId64,
			         alert_id);
	}
	rc = 0;
	goto out;
out_rollback:
	db_rollback(db);
out:
	if (rc < 0)
		log_error(
		    "recording the backup_failed alert failed: id=%" PRId64,
		    f->id);
	arena_reset(a);
	free(details_text);
	cJSON_Delete(details);
	cJSON_Delete(payload);
	return rc;
}

/* Reports a failure of the job's backup or verification id. */
static void
report(struct job *j, int verify, int64_t id, const char *source,
       const char *started, const char *error)
{
	struct backupjob_failure f = {.id = id,
	                              .verify = verify,
	                              .source = source,
	                              .host = j->host,
	                              .started_at = started,
	                              .error = error};

	(void)backupjob_report_failure(j->db, &j->a, &f);
}

/*
 * A failure that could not be written to the table (the server was
 * down) goes into backup_dir/failures.jsonl; the next run writes it.
 */
static void
spool_failure(struct job *j, int64_t id, const char *source,
              const char *started, const char *error)
{
	char path[4200];
	cJSON *o = cJSON_CreateObject();
	char *line;
	int fd;

	json_add_int(o, "id", id);
	cJSON_AddStringToObject(o, "source", source);
	cJSON_AddStringToObject(o, "host", j->host);
	cJSON_AddStringToObject(o, "started_at", started);
	cJSON_AddStringToObject(o, "error", error);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "%s/%s", j->c->backup_dir, SPOOL_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, line, strlen(line)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0)
		log_error("cannot record the failure in '%s': %s", path,
		          strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
}

/*
 * Writes the spooled failures into the table and raises their alert
 * (which could not be raised while the server was down); 0, or -1 (the
 * lines that could not be written are kept).
 */
static int
spool_flush(struct job *j)
{
	struct buf text = BUF_INIT(SPOOL_MAX + 1), left = BUF_INIT(0);
	char path[4200];
	char *p, *nl;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", j->c->backup_dir, SPOOL_FILE);
	if (access(path, F_OK) < 0)
		return 0;
	if (read_small(path, &text, SPOOL_MAX) < 0) {
		log_error("cannot read '%s'", path);
		buf_release(&text);
		return -1;
	}
	for (p = text.s; *p; p = nl ? nl + 1 : p + strlen(p)) {
		cJSON *o, *id, *src, *host, *st, *e;
		int64_t bid = 0;
		int ok = -1;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!*p)
			continue;
		o = cJSON_Parse(p);
		id = cJSON_GetObjectItemCaseSensitive(o, "id");
		src = cJSON_GetObjectItemCaseSensitive(o, "source");
		host = cJSON_GetObjectItemCaseSensitive(o, "host");
		st = cJSON_GetObjectItemCaseSensitive(o, "started_at");
		e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (!cJSON_IsNumber(id) || !cJSON_IsString(src) ||
		    !cJSON_IsString(host) || !cJSON_IsString(st) ||
		    !cJSON_IsString(e)) {
			log_warn("dropping a damaged line of '%s'", path);
			ok = 0;
		} else if (id->valuedouble > 0) {
			bid = (int64_t)id->valuedouble;
			ok = store_backup_fail(j->db, &j->a, bid,
			                       e->valuestring) < 0
			         ? -1
			         : 1;
		} else {
			ok = store_backup_insert_failed(
			         j->db, &j->a, src->valuestring,
			         host->valuestring, st->valuestring,
			         e->valuestring, &bid) < 0
			         ? -1
			         : 1;
		}
		if (ok == 1)
			report(j, 0, bid, src->valuestring, st->valuestring,
			       e->valuestring);
		cJSON_Delete(o);
		if (ok < 0) {
			buf_adds(&left, p);
			buf_addch(&left, '\n');
			rc = -1;
		}
	}
	if (left.len == 0)
		unlink(path);
	else if (write_atomic(path, left.s, left.len) < 0)
		log_error("cannot rewrite '%s'", path);
	buf_release(&text);
	buf_release(&left);
	arena_reset(&j->a);
	return rc;
}

/* Records a failed backup: the row, else the spool; then reports. */
static void
fail_backup(struct job *j, int64_t id, const char *source, const char *started,
            const char *error)
{
	char e[ERR_MAX + 1];
	int recorded = 0;

	copy_text(e, sizeof(e), error, ERR_MAX);
	if (j->db && id > 0 && store_backup_fail(j->db, &j->a, id, e) >= 0)
		recorded = 1;
	if (!recorded)
		spool_failure(j, id, source, started, e);
	/* A spooled failure is reported when the spool is written. */
	if (recorded)
		report(j, 0, id, source, started, e);
	else
		log_error("backup failed: id=%" PRId64 " error=\"%s\"", id, e);
	if (j->out)
		fprintf(j->out,
		        "rtrw-backup run: backup %" PRId64 " FAILED: %s\n", id,
		        e);
}

/* Rows a run on this host left running (it was killed) become failed. */
static void
fail_stale(struct job *j)
{
	const char *why = "the backup job was interrupted before it finished";
	struct rows res;
	int64_t *ids;
	size_t n;

	if (store_backup_stale(j->db, &j->a, j->host, &res) < 0)
		return;
	/* Reporting resets the arena the rows are in: take the ids out. */
	n = res.n;
	ids = xcalloc(n + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = ((const struct backup_ref *)rows_at(&res, i))->id;
	for (size_t i = 0; i < n; i++)
		if (store_backup_fail(j->db, &j->a, ids[i], why) == 1)
			report(j, 0, ids[i], "", "", why);
	free(ids);
	arena_reset(&j->a);
}

/* ---- manifests on disk ----------------------------------------------- */

static int
manifest_write(const char *path, const struct backup_manifest *m)
{
	cJSON *o = backup_manifest_json(m);
	char *text = cJSON_Print(o);
	int rc;

	cJSON_Delete(o);
	rc = write_atomic(path, text, strlen(text));
	free(text);
	return rc;
}

static int
manifest_read(const char *path, struct backup_manifest *m, char *err,
              size_t errlen)
{
	struct buf b = BUF_INIT(MANIFEST_MAX + 1);
	int rc;

	if (read_small(path, &b, MANIFEST_MAX) < 0) {
		snprintf(err, errlen, "cannot read the manifest '%s': %s", path,
		         strerror(errno));
		buf_release(&b);
		return -1;
	}
	rc = backup_manifest_parse(m, b.s, b.len, err, errlen);
	buf_release(&b);
	return rc;
}

/* One manifest found in a directory. */
struct found {
	char path[4200]; /* of the manifest */
	struct backup_manifest m;
	time_t when; /* finished_at (dumps), last_event_at (binary logs) */
	int64_t seq; /* binary log sequence number */
};

struct found_list {
	struct found *v;
	size_t n;
};

static void
found_release(struct found_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		backup_manifest_release(&l->v[i].m);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return x->m.id < y->m.id ? -1 : x->m.id > y->m.id;
}

/*
 * Reads every "*.rbk.json" of dir into l, sorted by binary log number,
 * then time.  A manifest that does not parse is skipped with a warning:
 * nothing acts on a file it cannot read.
 */
static int
scan_manifests(const char *dir, int kind, struct found_list *l)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	l->v = NULL;
	l->n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct found f;
		char err[256];

		if (n < 10 || strcmp(de->d_name + n - 9, ".rbk.json") != 0)
			continue;
		memset(&f, 0, sizeof(f));
		snprintf(f.path, sizeof(f.path), "%s/%s", dir, de->d_name);
		if (manifest_read(f.path, &f.m, err, sizeof(err)) < 0) {
			log_warn("skipping manifest '%s': %s", f.path, err);
			continue;
		}
		if (f.m.kind != kind) {
			backup_manifest_release(&f.m);
			continue;
		}
		if (kind == BACKUP_KIND_DUMP) {
			if (parse_time(f.m.finished_at, &f.when) < 0)
				f.when = 0;
			f.seq = 0;
		} else {
			if (parse_time(f.m.last_event_at, &f.when) < 0)
				f.when = 0;
			f.seq = binlog_name_seq(f.m.binlog_file);
		}
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->v = xrealloc(l->v, cap * sizeof(*l->v));
		}
		l->v[l->n++] = f;
	}
	closedir(d);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), found_cmp);
	return 0;
}

/* The container next to a manifest: same name without ".json". */
static void
container_of(const char *manifest_path, char *out, size_t n)
{
	size_t len = strlen(manifest_path);

	snprintf(out, n, "%.*s", (int)(len > 5 ? len - 5 : len), manifest_path);
}

/*
 * Finds the manifest of ref: a backup id (backup_dir/full/ *-ID.rbk.json)
 * or the path of a .rbk file.  0 or -1 with err.
 */
static int
resolve(struct job *j, const char *ref, struct backup_manifest *m,
        char *container, size_t n, char *err, size_t errlen)
{
	char dir[4200], path[4300];
	int64_t id;

	int latest = strcmp(ref, "latest") == 0;

	if (latest || parse_int64(ref, 1, INT64_MAX, &id) == 0) {
		struct found_list l;
		int rc = -1;
		size_t pick = 0;

		snprintf(dir, sizeof(dir), "%s/full", j->c->backup_dir);
		if (scan_manifests(dir, BACKUP_KIND_DUMP, &l) < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", dir,
			         strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < l.n; i++) {
			if (latest ? l.v[i].when < l.v[pick].when
			           : l.v[i].m.id != id)
				continue;
			pick = i;
			rc = 0;
			if (!latest)
				break;
		}
		if (rc == 0) {
			*m = l.v[pick].m;
			l.v[pick].m.tables = NULL;
			container_of(l.v[pick].path, container, n);
		}
		found_release(&l);
		if (rc < 0 && latest)
			snprintf(err, errlen, "there is no backup in '%s'",
			         dir);
		else if (rc < 0)
			snprintf(err, errlen,
			         "no backup %" PRId64
			         " in '%s' (pruned, failed "
			         "or never made)",
			         id, dir);
		return rc;
	}
	if (strlen(ref) < 5 || strcmp(ref + strlen(ref) - 4, ".rbk") != 0) {
		snprintf(err, errlen,
		         "'%s' is neither a backup id nor a .rbk file", ref);
		return -1;
	}
	snprintf(path, sizeof(path), "%s.json", ref);
	if (manifest_read(path, m, err, errlen) < 0)
		return -1;
	if (m->kind != BACKUP_KIND_DUMP) {
		snprintf(err, errlen, "'%s' is not a database backup", ref);
		backup_manifest_release(m);
		return -1;
	}
	snprintf(container, n, "%s", ref);
	return 0;
}

/* ---- reading a container whole ----------------------------------------- */

/*
 * Reads the container at path to its end, checking every chunk, and
 * compares sizes and digests with m.  The data goes to out_fd when it is
 * not -1 (a loader's stdin, a file), with prologue first.  0 or -1 with
 * err.
 */
static int
stream_container(struct job *j, const char *path,
                 const struct backup_manifest *m, int kind,
                 const char *prologue, int out_fd, char *err, size_t errlen)
{
	struct backup_reader *r;
	struct backup_stats st;
	char *block = NULL;
	int fd, rc = -1;
	long got;

	if (job_keys(j, err, errlen) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
		         strerror(errno));
		return -1;
	}
	r = backup_reader_open(fd, &j->ring, err, errlen);
	if (!r)
		goto out_close;
	if (backup_reader_header(r)->kind != kind ||
	    backup_reader_header(r)->key_id != m->key_id) {
		snprintf(err, errlen,
		         "'%s' does not match its manifest (kind or key)",
		         path);
		goto out_free;
	}
	if (out_fd >= 0 && prologue &&
	    write_all(out_fd, prologue, strlen(prologue)) < 0) {
		snprintf(err, errlen, "the loader stopped reading: %s",
		         strerror(errno));
		goto out_free;
	}
	block = xmalloc(IO_BLOCK);
	while ((got = backup_reader_read(r, block, IO_BLOCK)) > 0) {
		if (out_fd >= 0 && write_all(out_fd, block, (size_t)got) < 0) {
			snprintf(err, errlen, "the loader stopped reading: %s",
			         strerror(errno));
			goto out_free;
		}
	}
	if (got < 0) {
		snprintf(err, errlen, "'%s': %s", path, backup_reader_error(r));
		goto out_free;
	}
	backup_reader_stats(r, &st);
	if (st.plain_bytes != m->stats.plain_bytes ||
	    st.file_bytes != m->stats.file_bytes ||
	    strcmp(st.plain_sha256, m->stats.plain_sha256) != 0 ||
	    strcmp(st.file_sha256, m->stats.file_sha256) != 0) {
		snprintf(err, errlen,
		         "'%s' does not match its manifest: SHA-256 %.12s... "
		         "of %" PRIu64 " bytes, the manifest says %.12s... of "
		         "%" PRIu64,
		         path, st.file_sha256, st.file_bytes,
		         m->stats.file_sha256, m->stats.file_bytes);
		goto out_free;
	}
	rc = 0;
out_free:
	free(block);
	backup_reader_free(r);
out_close:
	close(fd);
	return rc;
}

/* ---- run ------------------------------------------------------------- */

/* What the dump's stream says about itself. */
struct dump_scan {
	struct buf head; /* the first HEAD_SCAN bytes */
	char tail[TAIL_KEEP];
	size_t tail_len;
	char binlog_file[256];
	int64_t binlog_pos;
	char gtid_pos[256];
	int found_pos;
	char snapshot_at[32];
};

/* "-- CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=n;" */
static void
scan_position(struct dump_scan *s)
{
	const char *p = strstr(s->head.s, "CHANGE MASTER TO MASTER_LOG_FILE='");
	const char *q;
	size_t n;

	if (!p)
		return;
	p += strlen("CHANGE MASTER TO MASTER_LOG_FILE='");
	q = strchr(p, '\'');
	if (!q || (n = (size_t)(q - p)) == 0 || n >= sizeof(s->binlog_file))
		return;
	memcpy(s->binlog_file, p, n);
	s->binlog_file[n] = '\0';
	p = strstr(q, "MASTER_LOG_POS=");
	if (!p)
		return;
	p += strlen("MASTER_LOG_POS=");
	n = strspn(p, "0123456789");
	if (n == 0 || parse_int64_n(p, n, 4, INT64_MAX, &s->binlog_pos) < 0)
		return;
	if (binlog_name_seq(s->binlog_file) < 0)
		return;
	s->found_pos = 1;
	fmt_time(time(NULL), s->snapshot_at, sizeof(s->snapshot_at), 1);
}

static void
scan_feed(struct dump_scan *s, const char *p, size_t n)
{
	if (s->head.len < HEAD_SCAN && !s->found_pos) {
		size_t k =
		    HEAD_SCAN - s->head.len < n ? HEAD_SCAN - s->head.len : n;

		buf_add(&s->head, p, k);
		scan_position(s);
	}
	if (n >= TAIL_KEEP) {
		memcpy(s->tail, p + n - TAIL_KEEP, TAIL_KEEP);
		s->tail_len = TAIL_KEEP;
	} else {
		size_t keep =
		    s->tail_len + n > TAIL_KEEP ? TAIL_KEEP - n : s->tail_len;

		memmove(s->tail, s->tail + s->tail_len - keep, keep);
		memcpy(s->tail + keep, p, n);
		s->tail_len = keep + n;
	}
}

/* The end of a whole dump: the GTID comment and the closing line. */
static int
scan_finish(struct dump_scan *s)
{
	char tail[TAIL_KEEP + 1];
	const char *p, *q;

	memcpy(tail, s->tail, s->tail_len);
	tail[s->tail_len] = '\0';
	/* The NUL of binary data would end strstr early; none is here. */
	p = strstr(tail, "SET GLOBAL gtid_slave_pos='");
	if (p) {
		p += strlen("SET GLOBAL gtid_slave_pos='");
		q = strchr(p, '\'');
		if (q && (size_t)(q - p) < sizeof(s->gtid_pos)) {
			memcpy(s->gtid_pos, p, (size_t)(q - p));
			s->gtid_pos[q - p] = '\0';
		}
	}
	return strstr(tail, "\n-- Dump completed") ? 0 : -1;
}

/* The facts of the server the backup account reaches. */
struct server {
	int64_t server_id;
	char version[128];
	int log_bin;
	char log_bin_basename[1024];
	char database[65];
};

static int
server_facts(struct job *j, struct server *s, char *err, size_t errlen)
{
	struct backup_server bs;

	memset(s, 0, sizeof(*s));
	if (store_backup_server(j->db, &j->a, &bs) < 0) {
		snprintf(err, errlen, "%s",
		         db_last_error(j->db) == DBE_CONN
		             ? "the database server is unreachable"
		             : "reading the server's settings failed");
		return -1;
	}
	s->server_id = bs.server_id;
	snprintf(s->version, sizeof(s->version), "%s", bs.version);
	s->log_bin = bs.log_bin != 0;
	snprintf(s->log_bin_basename, sizeof(s->log_bin_basename), "%s",
	         bs.log_bin_basename);
	snprintf(s->database, sizeof(s->database), "%s", bs.db ? bs.db : "");
	arena_reset(&j->a);
	return 0;
}

/*
 * Dumps the database into a new container for backup id.  Fills m and
 * leaves the container and its manifest in backup_dir/full.  0 or -1.
 */
static int
dump(struct job *j, int64_t id, struct backup_manifest *m, char *err,
     size_t errlen)
{
	const struct config *c = j->c;
	char dir[4200], part[4400] = "", final[4400], mpath[4500],
	                cnf[4200] = "", defaults_opt[4300], stamp[32],
	                why[1024];
	struct dump_scan scan;
	struct backup_writer *w = NULL;
	struct server srv;
	struct rows res;
	struct proc p;
	char *block = NULL;
	int fd = -1, pipefd[2] = {-1, -1}, rc = -1, status;
	time_t started = time(NULL);

	memset(m, 0, sizeof(*m));
	memset(&scan, 0, sizeof(scan));
	buf_init(&scan.head, HEAD_SCAN + 1);
	if (!ident_ok(c->db_name)) {
		snprintf(err, errlen, "db_name must be [a-z0-9_]");
		goto out;
	}
	if (job_keys(j, err, errlen) < 0)
		goto out;
	if (!backup_keyring_get(&j->ring, c->backup_key_id)) {
		snprintf(err, errlen,
		         "backup_key_id %d has no key file %d.key in '%s'",
		         c->backup_key_id, c->backup_key_id, c->backup_key_dir);
		goto out;
	}
	if (server_facts(j, &srv, err, errlen) < 0)
		goto out;
	m->kind = BACKUP_KIND_DUMP;
	m->id = id;
	m->key_id = c->backup_key_id;
	m->chunk_bytes = BACKUP_CHUNK_DEFAULT;
	m->server_id = srv.server_id;
	snprintf(m->server_version, sizeof(m->server_version), "%s",
	         srv.version);
	snprintf(m->database, sizeof(m->database), "%s", c->db_name);
	snprintf(m->host, sizeof(m->host), "%s", j->host);
	snprintf(m->tool_self, sizeof(m->tool_self), "%s", BACKUPJOB_VERSION);
	tool_version("mariadb-dump", m->tool_dump, sizeof(m->tool_dump));
	fmt_time(started, m->started_at, sizeof(m->started_at), 1);
	if (store_backup_schema_version(j->db, &j->a, &m->schema_version) < 0) {
		snprintf(err, errlen, "reading schema_migrations failed");
		goto out;
	}
	if (store_backup_tables(j->db, &j->a, &res) < 0) {
		snprintf(err, errlen, "listing the tables failed");
		goto out;
	}
	m->tables = cJSON_CreateArray();
	for (size_t i = 0; i < res.n; i++)
		cJSON_AddItemToArray(
		    m->tables,
		    cJSON_CreateString(
		        ((const struct backup_table *)rows_at(&res, i))->name));
	arena_reset(&j->a);

	snprintf(dir, sizeof(dir), "%s/full", c->backup_dir);
	if (mkdir_p(dir) < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", dir,
		         strerror(errno));
		goto out;
	}
	{
		struct tm tm;

		gmtime_r(&started, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	}
	snprintf(m->file, sizeof(m->file), "%s-%" PRId64 ".rbk", stamp, id);
	snprintf(final, sizeof(final), "%s/%s", dir, m->file);
	snprintf(part, sizeof(part), "%s.part", final);
	snprintf(mpath, sizeof(mpath), "%s.json", final);
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", part,
		         strerror(errno));
		goto out;
	}
	w = backup_writer_open(fd, backup_keyring_get(&j->ring, m->key_id),
	                       m->key_id, BACKUP_KIND_DUMP,
	                       c->backup_zstd_level, m->chunk_bytes, err,
	                       errlen);
	if (!w)
		goto out;
	if (write_defaults(j, "dump", c->db_backup_user,
	                   c->db_backup_password_file, c->db_socket, c->db_host,
	                   c->db_port, cnf, sizeof(cnf), err, errlen) < 0)
		goto out;
	snprintf(defaults_opt, sizeof(defaults_opt), "--defaults-file=%s", cnf);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe failed: %s", strerror(errno));
		goto out;
	}
	{
		/*
		 * --single-transaction: one consistent InnoDB snapshot, no
		 * locks.  --master-data=2: the snapshot's binary log
		 * position as a comment.  The database is named without
		 * --databases, so the dump has no CREATE DATABASE / USE and
		 * restores into a database of any name.
		 */
		const char *argv[] = {"mariadb-dump",
		                      defaults_opt,
		                      "--single-transaction",
		                      "--quick",
		                      "--routines",
		                      "--triggers",
		                      "--events",
		                      "--hex-blob",
		                      "--tz-utc",
		                      "--default-character-set=utf8mb4",
		                      "--max-allowed-packet=1G",
		                      srv.log_bin ? "--master-data=2"
		                                  : "--quick",
		                      c->db_name,
		                      NULL};

		if (proc_start(&p, argv, NULL, -1, pipefd[1], -1, err, errlen) <
		    0)
			goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	block = xmalloc(IO_BLOCK);
	for (;;) {
		ssize_t n = read(pipefd[0], block, IO_BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		scan_feed(&scan, block, (size_t)n);
		if (backup_writer_write(w, block, (size_t)n) < 0)
			break;
	}
	close(pipefd[0]);
	pipefd[0] = -1;
	status = proc_wait(&p);
	proc_stderr(&p, why, sizeof(why));
	proc_release(&p);
	drop_defaults(cnf);
	if (status != 0) {
		snprintf(err, errlen, "mariadb-dump failed (exit %d): %s",
		         status, why[0] ? why : "no message");
		goto out;
	}
	if (strcmp(backup_writer_error(w), "no error") != 0) {
		snprintf(err, errlen, "%s", backup_writer_error(w));
		goto out;
	}
	if (scan_finish(&scan) < 0) {
		snprintf(err, errlen,
		         "the dump is incomplete (no 'Dump completed' line)");
		goto out;
	}
	if (srv.log_bin && !scan.found_pos) {
		snprintf(err, errlen, "the dump names no binary log position");
		goto out;
	}
	if (!srv.log_bin)
		log_warn("binary logging is off on the server: backup %" PRId64
		         " cannot be rolled forward to a point in time",
		         id);
	if (backup_writer_finish(w, &m->stats) < 0) {
		snprintf(err, errlen, "%s", backup_writer_error(w));
		goto out;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "writing '%s' failed: %s", part,
		         strerror(errno));
		goto out;
	}
	fd = -1;
	snprintf(m->binlog_file, sizeof(m->binlog_file), "%s",
	         scan.binlog_file);
	m->binlog_pos = scan.binlog_pos;
	snprintf(m->gtid_pos, sizeof(m->gtid_pos), "%s", scan.gtid_pos);
	snprintf(m->snapshot_at, sizeof(m->snapshot_at), "%s",
	         scan.snapshot_at[0] ? scan.snapshot_at : m->started_at);
	fmt_time(time(NULL), m->finished_at, sizeof(m->finished_at), 1);
	if (rename(part, final) < 0 || manifest_write(mpath, m) < 0 ||
	    fsync_dir(dir) < 0) {
		snprintf(err, errlen, "storing '%s' failed: %s", final,
		         strerror(errno));
		unlink(mpath);
		unlink(final);
		goto out;
	}
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (fd >= 0)
		close(fd);
	if (rc < 0 && part[0])
		unlink(part);
	free(block);
	backup_writer_free(w);
	buf_release(&scan.head);
	return rc;
}

/*
 * Takes backup id (running, of source) to its end: the dump, then the
 * row.  0, or 1 after the failure was recorded and reported.
 */
static int
take_backup(struct job *j, int64_t id, const char *source, const char *started)
{
	struct backup_manifest m;
	char err[2048] = "";
	char *text = NULL;
	cJSON *mj;
	int rc = 1, done;

	memset(&m, 0, sizeof(m));
	arena_reset(&j->a);
	log_info("backup started: id=%" PRId64 " source=%s", id, source);
	if (dump(j, id, &m, err, sizeof(err)) < 0) {
		fail_backup(j, id, source, started, err);
		goto out;
	}
	mj = backup_manifest_json(&m);
	text = cJSON_PrintUnformatted(mj);
	cJSON_Delete(mj);
	if (!text)
		abort();
	{
		struct backup_done d = {
		    .id = id,
		    .file_name = m.file,
		    .key_id = m.key_id,
		    .plain_bytes = (int64_t)m.stats.plain_bytes,
		    .plain_sha256 = m.stats.plain_sha256,
		    .file_bytes = (int64_t)m.stats.file_bytes,
		    .file_sha256 = m.stats.file_sha256,
		    .server_id = m.server_id,
		    .binlog_file = m.binlog_file[0] ? m.binlog_file : NULL,
		    .binlog_pos = m.binlog_pos,
		    .gtid_pos = m.gtid_pos[0] ? m.gtid_pos : NULL,
		    .schema_version = m.schema_version,
		    .manifest = text,
		};

		done = store_backup_complete(j->db, &j->a, &d);
	}
	if (done != 1) {
		/*
		 * The file is whole and its manifest written, but the table
		 * does not say so: report it rather than leave a row running.
		 */
		fail_backup(j, id, source, started,
		            "the backup was written but recording it failed");
		goto out;
	}
	/* A good backup ends the platform's backup_failed alert. */
	if (store_platform_alert_resolve(j->db, &j->a, "backup_failed") > 0)
		log_info("platform alert resolved: type=backup_failed by "
		         "backup=%" PRId64,
		         id);
	fprintf(j->out,
	        "rtrw-backup run: backup %" PRId64 " completed: %s, %" PRIu64
	        " bytes of SQL in %" PRIu64 " bytes, binlog %s:%" PRId64
	        ", schema %" PRId64 "\n",
	        id, m.file, m.stats.plain_bytes, m.stats.file_bytes,
	        m.binlog_file[0] ? m.binlog_file : "-", m.binlog_pos,
	        m.schema_version);
	rc = 0;
out:
	free(text);
	backup_manifest_release(&m);
	arena_reset(&j->a);
	return rc;
}

/*
 * The start of every run: backup_dir, the run lock, the backup account,
 * and what earlier runs left (the spool, rows left running).  Returns
 * the lock's fd; -1 when another run holds it (nothing to do), -2 after
 * a failure that was recorded (exit status 1).
 */
static int
run_begin(struct job *j, const char *source, const char *started)
{
	const struct config *c = j->c;
	char err[512];
	int lock;

	if (mkdir_p(c->backup_dir) < 0) {
		snprintf(err, sizeof(err), "cannot create backup_dir '%s': %s",
		         c->backup_dir, strerror(errno));
		fail_backup(j, 0, source, started, err);
		return -2;
	}
	lock = lock_take(c, "run.lock", LOCK_EX | LOCK_NB);
	if (lock == -1) {
		fprintf(j->out, "rtrw-backup run: another backup is running; "
		                "nothing done\n");
		return -1;
	}
	if (lock < 0) {
		snprintf(err, sizeof(err), "cannot lock '%s/run.lock': %s",
		         c->backup_dir, strerror(errno));
		fail_backup(j, 0, source, started, err);
		return -2;
	}
	if (!job_db(j)) {
		fail_backup(
		    j, 0, source, started,
		    "the backup account's password file cannot be read");
		close(lock);
		return -2;
	}
	/* The server answers: first write what earlier runs could not. */
	(void)spool_flush(j);
	fail_stale(j);
	return lock;
}

/*
 * Takes the queued backup, if there is one, for this host: 1 and *id, 0
 * none, -1 when the server cannot be asked.
 */
static int
claim_queued(struct job *j, int64_t *id)
{
	int64_t q;
	int rc;

	rc = store_backup_next_queued(j->db, &j->a, &q);
	if (rc < 0)
		return db_last_error(j->db) == DBE_CONN ? -1 : 0;
	if (rc == 0)
		return 0;
	if (store_backup_claim(j->db, &j->a, q, j->host) != 1)
		return 0; /* another host took it */
	*id = q;
	return 1;
}

int
backupjob_run(const struct config *c, const char *source, int only_queued,
              FILE *out)
{
	char started[32];
	struct job j;
	int64_t id = 0;
	int lock, rc = 1, q;

	job_init(&j, c, out);
	fmt_time(time(NULL), started, sizeof(started), 0);
	lock = run_begin(&j, source, started);
	if (lock < 0) {
		rc = lock == -1 ? 0 : 1;
		goto out;
	}
	q = claim_queued(&j, &id);
	if (q < 0) {
		fail_backup(&j, 0, source, started,
		            "the database server is unreachable");
		goto out_unlock;
	}
	if (q == 1) {
		source = "api";
	} else if (only_queued) {
		rc = 0;
		goto out_unlock;
	} else if (store_backup_start(j.db, &j.a, source, j.host, &id) < 0) {
		fail_backup(&j, 0, source, started,
		            db_last_error(j.db) == DBE_CONN
		                ? "the database server is unreachable"
		                : "recording the backup failed");
		goto out_unlock;
	}
	rc = take_backup(&j, id, source, started);
out_unlock:
	close(lock);
out:
	job_release(&j);
	return rc;
}

/* ---- binary logs ------------------------------------------------------ */

/* Whether the log at path holds a transaction (a GTID event). */
static int
log_has_data(const char *path)
{
	struct binlog_scan s;
	char block[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	binlog_scan_init(&s);
	while ((n = read(fd, block, sizeof(block))) > 0 && !s.has_data)
		if (binlog_scan_feed(&s, block, (size_t)n) < 0)
			break;
	close(fd);
	return s.has_data;
}

/* Seals one closed binary log into dir; 0 or -1 with err. */
static int
archive_log(struct job *j, const char *src, const char *name,
            int64_t expect_size, int64_t server_id, const char *dir, char *err,
            size_t errlen)
{
	char final[4400], part[4500], mpath[4500];
	struct backup_manifest m;
	struct backup_writer *w = NULL;
	struct binlog_scan s;
	char *block = NULL;
	int in = -1, fd = -1, rc = -1;
	uint64_t total = 0;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	snprintf(final, sizeof(final), "%s/%s.rbk", dir, name);
	snprintf(part, sizeof(part), "%s.part", final);
	snprintf(mpath, sizeof(mpath), "%s.json", final);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "cannot read binary log '%s': %s", src,
		         strerror(errno));
		goto out;
	}
	fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", part,
		         strerror(errno));
		goto out;
	}
	w = backup_writer_open(
	    fd, backup_keyring_get(&j->ring, j->c->backup_key_id),
	    j->c->backup_key_id, BACKUP_KIND_BINLOG, j->c->backup_zstd_level,
	    BACKUP_CHUNK_DEFAULT, err, errlen);
	if (!w)
		goto out;
	binlog_scan_init(&s);
	block = xmalloc(IO_BLOCK);
	while ((n = read(in, block, IO_BLOCK)) > 0) {
		if (binlog_scan_feed(&s, block, (size_t)n) < 0) {
			snprintf(err, errlen, "binary log '%s': %s", src,
			         s.err);
			goto out;
		}
		if (backup_writer_write(w, block, (size_t)n) < 0) {
			snprintf(err, errlen, "%s", backup_writer_error(w));
			goto out;
		}
		total += (uint64_t)n;
	}
	if (n < 0 || binlog_scan_finish(&s, 1) < 0) {
		snprintf(err, errlen, "binary log '%s': %s", src,
		         n < 0 ? strerror(errno) : s.err);
		goto out;
	}
	if (expect_size >= 0 && total != (uint64_t)expect_size) {
		snprintf(err, errlen,
		         "binary log '%s' has %" PRIu64 " bytes, the server "
		         "says %" PRId64,
		         src, total, expect_size);
		goto out;
	}
	if (backup_writer_finish(w, &m.stats) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "writing '%s' failed", part);
		goto out;
	}
	m.kind = BACKUP_KIND_BINLOG;
	snprintf(m.file, sizeof(m.file), "%s.rbk", name);
	m.key_id = j->c->backup_key_id;
	m.chunk_bytes = BACKUP_CHUNK_DEFAULT;
	m.server_id = server_id;
	snprintf(m.binlog_file, sizeof(m.binlog_file), "%s", name);
	fmt_time((time_t)s.first_at, m.first_event_at, sizeof(m.first_event_at),
	         1);
	fmt_time((time_t)s.last_at, m.last_event_at, sizeof(m.last_event_at),
	         1);
	fmt_time(time(NULL), m.archived_at, sizeof(m.archived_at), 1);
	snprintf(m.host, sizeof(m.host), "%s", j->host);
	snprintf(m.tool_self, sizeof(m.tool_self), "%s", BACKUPJOB_VERSION);
	if (rename(part, final) < 0 || manifest_write(mpath, &m) < 0 ||
	    fsync_dir(dir) < 0) {
		snprintf(err, errlen, "storing '%s' failed: %s", final,
		         strerror(errno));
		unlink(mpath);
		unlink(final);
		goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(part);
	free(block);
	backup_writer_free(w);
	return rc;
}

int
backupjob_binlog(const struct config *c, int rotate, FILE *out)
{
	char err[2048], logdir[1024], dir[4200], src[2200], mpath[4500];
	struct server srv;
	struct rows res;
	struct job j;
	int lock = -1, rc = 1, rotated = 0;
	long archived = 0, present = 0, failed = 0;
	int64_t newest_archived = -1;

	job_init(&j, c, out);
	if (mkdir_p(c->backup_dir) < 0) {
		log_error("cannot create backup_dir '%s': %s", c->backup_dir,
		          strerror(errno));
		goto out;
	}
	lock = lock_take(c, "binlog.lock", LOCK_EX | LOCK_NB);
	if (lock == -1) {
		fprintf(out, "rtrw-backup binlog: another archiver is "
		             "running; nothing done\n");
		rc = 0;
		goto out;
	}
	if (lock < 0 || !job_db(&j) || job_keys(&j, err, sizeof(err)) < 0 ||
	    server_facts(&j, &srv, err, sizeof(err)) < 0) {
		log_error("binlog archiving failed: %s",
		          lock < 0 ? "cannot take binlog.lock"
		          : !j.db  ? "the backup account is unusable"
		                   : err);
		goto out;
	}
	if (!backup_keyring_get(&j.ring, c->backup_key_id)) {
		log_error("binlog archiving failed: no key %d in '%s'",
		          c->backup_key_id, c->backup_key_dir);
		goto out;
	}
	if (!srv.log_bin || !srv.log_bin_basename[0]) {
		log_error("binlog archiving failed: binary logging is off on "
		          "the server (log_bin)");
		goto out;
	}
	{
		const char *slash = strrchr(srv.log_bin_basename, '/');

		snprintf(logdir, sizeof(logdir), "%.*s",
		         slash ? (int)(slash - srv.log_bin_basename) : 1,
		         slash ? srv.log_bin_basename : ".");
	}
	snprintf(dir, sizeof(dir), "%s/binlog/%" PRId64, c->backup_dir,
	         srv.server_id);
	if (mkdir_p(dir) < 0) {
		log_error("cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (store_backup_binlogs(j.db, &j.a, &res) < 0 || res.n == 0) {
		log_error("binlog archiving failed: SHOW BINARY LOGS failed "
		          "(does the backup account have BINLOG MONITOR?)");
		goto out;
	}
	/*
	 * The last log is the one being written.  Close it when it holds a
	 * transaction, so that the archive lags by one interval at most.
	 */
	if (rotate) {
		const struct backup_binlog *cur = rows_at(&res, res.n - 1);

		snprintf(src, sizeof(src), "%s/%s", logdir, cur->Log_name);
		if (log_has_data(src) == 1) {
			if (store_backup_flush_binlogs(j.db, &j.a) < 0) {
				log_error("binlog archiving failed: FLUSH "
				          "BINARY LOGS failed (does the backup "
				          "account have RELOAD?)");
				goto out;
			}
			rotated = 1;
			arena_reset(&j.a);
			if (store_backup_binlogs(j.db, &j.a, &res) < 0) {
				log_error("binlog archiving failed: SHOW "
				          "BINARY LOGS failed");
				goto out;
			}
		}
	}
	{
		struct found_list l;

		if (scan_manifests(dir, BACKUP_KIND_BINLOG, &l) == 0 && l.n)
			newest_archived = l.v[l.n - 1].seq;
		found_release(&l);
	}
	for (size_t i = 0; i + 1 < res.n; i++) {
		const struct backup_binlog *bl = rows_at(&res, i);
		const char *name = bl->Log_name;
		int64_t size = bl->File_size, seq;
		struct stat st;

		seq = name ? binlog_name_seq(name) : -1;
		if (seq < 0) {
			log_error("unexpected binary log name '%s'",
			          name ? name : "");
			failed++;
			continue;
		}
		/*
		 * The first log the server still has must follow the newest
		 * archived one, or some were purged unarchived.
		 */
		if (i == 0 && newest_archived >= 0 &&
		    seq > newest_archived + 1) {
			log_error("binary logs after number %" PRId64
			          " up to %" PRId64
			          " were purged before they were archived: "
			          "point-in-time recovery has a gap there",
			          newest_archived, seq - 1);
			failed++;
		}
		snprintf(mpath, sizeof(mpath), "%s/%s.rbk.json", dir, name);
		if (stat(mpath, &st) == 0) {
			present++;
			continue;
		}
		snprintf(src, sizeof(src), "%s/%s", logdir, name);
		if (archive_log(&j, src, name, size, srv.server_id, dir, err,
		                sizeof(err)) < 0) {
			log_error("archiving binary log failed: %s", err);
			failed++;
			continue;
		}
		archived++;
	}
	fprintf(out,
	        "rtrw-backup binlog: archived=%ld already=%ld failed=%ld "
	        "rotated=%s dir=%s\n",
	        archived, present, failed, rotated ? "yes" : "no", dir);
	rc = failed ? 1 : 0;
out:
	if (lock >= 0)
		close(lock);
	job_release(&j);
	return rc;
}

/* ---- list, keys -------------------------------------------------------- */

static void
list_manifests(struct job *j)
{
	char dir[4200];
	struct found_list l;

	snprintf(dir, sizeof(dir), "%s/full", j->c->backup_dir);
	if (scan_manifests(dir, BACKUP_KIND_DUMP, &l) < 0) {
		fprintf(j->out, "cannot read '%s'\n", dir);
		return;
	}
	fprintf(j->out, "%-6s %-10s %-20s %-20s %12s %s\n", "id", "status",
	        "started", "finished", "bytes", "binlog");
	for (size_t i = 0; i < l.n; i++) {
		const struct backup_manifest *m = &l.v[i].m;

		fprintf(j->out,
		        "%-6" PRId64 " %-10s %-20s %-20s %12" PRIu64
		        " %s:%" PRId64 "\n",
		        m->id, "completed", m->started_at, m->finished_at,
		        m->stats.file_bytes, m->binlog_file, m->binlog_pos);
	}
	found_release(&l);
}

/* An integer column for the listing: "-" for NULL (0). */
static const char *
num(char *out, size_t n, int64_t v)
{
	if (v == 0)
		return "-";
	snprintf(out, n, "%" PRId64, v);
	return out;
}

static const char *
str(const char *s)
{
	return s ? s : "-";
}

int
backupjob_list(const struct config *c, FILE *out)
{
	struct backup_filter any = {NULL};
	struct rows res;
	struct job j;
	int64_t total;

	job_init(&j, c, out);
	/* Newest first, as the API lists them (sort 0: -created_at). */
	if (!job_db(&j) ||
	    store_list_fetch_global(j.db, &j.a, &store_backup_list, &any, 0,
	                            1000, 0, &res, &total) < 0) {
		fprintf(out, "(the backups table is unreachable; listing the "
		             "manifests in backup_dir)\n");
		list_manifests(&j);
		job_release(&j);
		return 1;
	}
	fprintf(out, "%-6s %-10s %-9s %-19s %-19s %12s %-24s %-6s %-7s %s\n",
	        "id", "status", "source", "started", "finished", "bytes",
	        "binlog", "schema", "verify", "error");
	for (size_t i = 0; i < res.n; i++) {
		const struct backup *b = rows_at(&res, i);
		char id[24], bytes[24], bpos[24], schema[24], pos[300];

		snprintf(pos, sizeof(pos), "%s:%s", str(b->binlog_file),
		         num(bpos, sizeof(bpos), b->binlog_pos));
		fprintf(out,
		        "%-6s %-10s %-9s %-19s %-19s %12s %-24s %-6s %-7s %s\n",
		        num(id, sizeof(id), b->id), b->status, b->source,
		        str(b->started_at), str(b->finished_at),
		        num(bytes, sizeof(bytes), b->file_bytes), pos,
		        num(schema, sizeof(schema), b->schema_version),
		        str(b->verify_status), str(b->error));
	}
	job_release(&j);
	return 0;
}

int
backupjob_keys(const struct config *c, FILE *out)
{
	static const char *const sub[] = {"full", "binlog"};
	long uses[BACKUP_KEY_IDS] = {0};
	char err[512], dir[4200];
	struct job j;
	DIR *d;
	struct dirent *de;

	job_init(&j, c, out);
	if (job_keys(&j, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-backup: %s\n", err);
		job_release(&j);
		return 1;
	}
	for (size_t s = 0; s < 2; s++) {
		struct found_list l;

		snprintf(dir, sizeof(dir), "%s/%s", c->backup_dir, sub[s]);
		if (s == 0) {
			scan_manifests(dir, BACKUP_KIND_DUMP, &l);
			for (size_t i = 0; i < l.n; i++)
				uses[l.v[i].m.key_id]++;
			found_release(&l);
			continue;
		}
		/* binlog/<server_id>/ */
		d = opendir(dir);
		while (d && (de = readdir(d))) {
			char sdir[4500];

			if (de->d_name[0] == '.')
				continue;
			snprintf(sdir, sizeof(sdir), "%s/%s", dir, de->d_name);
			scan_manifests(sdir, BACKUP_KIND_BINLOG, &l);
			for (size_t i = 0; i < l.n; i++)
				uses[l.v[i].m.key_id]++;
			found_release(&l);
		}
		if (d)
			closedir(d);
	}
	fprintf(out, "%-4s %-8s %s\n", "key", "current", "files using it");
	for (int id = 1; id < BACKUP_KEY_IDS; id++) {
		if (!j.ring.present[id] && uses[id] == 0)
			continue;
		fprintf(out, "%-4d %-8s %ld%s\n", id,
		        id == c->backup_key_id ? "yes" : "", uses[id],
		        j.ring.present[id] ? "" : "  (KEY FILE MISSING)");
	}
	job_release(&j);
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

/*
 * Checks what the scratch server holds after loading: the schema version
 * and the table list of the manifest.
 */
static int
check_loaded(struct job *j, const char *socket, const char *database,
             const struct backup_manifest *m, long *ntables, char *err,
             size_t errlen)
{
	struct config sc = *j->c;
	struct rows res;
	struct db *db;
	int64_t version;
	int rc = -1;

	config_wipe(&sc);
	snprintf(sc.db_socket, sizeof(sc.db_socket), "%s", socket);
	snprintf(sc.db_user, sizeof(sc.db_user), "root");
	sc.db_password_file[0] = '\0';
	snprintf(sc.db_name, sizeof(sc.db_name), "%s", database);
	db = db_open(&sc, DB_ACCOUNT_APP, err, errlen);
	if (!db)
		return -1;
	if (store_backup_schema_version(db, &j->a, &version) < 0) {
		snprintf(err, errlen,
		         "the loaded copy has no schema_migrations");
		goto out_close;
	}
	if (version != m->schema_version) {
		snprintf(err, errlen,
		         "the loaded copy is at schema version %" PRId64
		         ", the manifest says %" PRId64,
		         version, m->schema_version);
		goto out_close;
	}
	if (store_backup_tables(db, &j->a, &res) < 0) {
		snprintf(err, errlen, "listing the loaded tables failed");
		goto out_close;
	}
	*ntables = (long)res.n;
	if (m->tables) {
		int want = cJSON_GetArraySize(m->tables);
		size_t i = 0;
		const cJSON *t;

		cJSON_ArrayForEach(t, m->tables)
		{
			const char *got =
			    i < res.n ? ((const struct backup_table *)rows_at(
			                     &res, i))
			                    ->name
			              : NULL;

			if (!got || strcmp(got, t->valuestring) != 0) {
				snprintf(
				    err, errlen,
				    "table '%s' is missing from the loaded "
				    "copy",
				    t->valuestring);
				goto out_close;
			}
			i++;
		}
		if ((size_t)want != res.n) {
			snprintf(err, errlen,
			         "the loaded copy has %zu tables, the manifest "
			         "%d",
			         res.n, want);
			goto out_close;
		}
	}
	rc = 0;
out_close:
	db_close(db);
	arena_reset(&j->a);
	return rc;
}

/*
 * A connection to a restore's target as user (password from pwfile, may
 * be empty) through socket, or host and port when socket is empty, to
 * database.  NULL with err when it cannot be reached.
 */
static struct db *
target_db(struct job *j, const char *user, const char *pwfile,
          const char *socket, const char *host, int port, const char *database,
          char *err, size_t errlen)
{
	struct config tc = *j->c;
	struct db *db;

	config_wipe(&tc);
	snprintf(tc.db_user, sizeof(tc.db_user), "%s", user);
	snprintf(tc.db_password_file, sizeof(tc.db_password_file), "%s",
	         pwfile);
	snprintf(tc.db_socket, sizeof(tc.db_socket), "%s", socket);
	snprintf(tc.db_host, sizeof(tc.db_host), "%s", host);
	tc.db_port = port;
	snprintf(tc.db_name, sizeof(tc.db_name), "%s", database);
	err[0] = '\0';
	db = db_open(&tc, DB_ACCOUNT_APP, err, errlen);
	explicit_bzero(&tc, sizeof(tc));
	return db;
}

/*
 * Starts a loader (the mariadb client) reading its stdin into database
 * on the server described by cnf or socket.  Returns the write end of
 * its stdin, or -1 with err.
 */
static int
loader_start(struct proc *p, const char *cnf, const char *socket,
             const char *database, int binary, char *err, size_t errlen)
{
	char opt[4300], dbopt[128];
	const char *argv[10];
	size_t k = 0;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe failed: %s", strerror(errno));
		return -1;
	}
	snprintf(dbopt, sizeof(dbopt), "--database=%s", database);
	argv[k++] = "mariadb";
	if (socket) {
		snprintf(opt, sizeof(opt), "--socket=%s", socket);
		argv[k++] = "--no-defaults";
		argv[k++] = opt;
		argv[k++] = "-uroot";
	} else {
		snprintf(opt, sizeof(opt), "--defaults-file=%s", cnf);
		argv[k++] = opt;
	}
	argv[k++] = "--max-allowed-packet=1G";
	/* mariadb-binlog output may carry any bytes in its statements. */
	if (binary)
		argv[k++] = "--binary-mode";
	argv[k++] = dbopt;
	argv[k] = NULL;
	if (proc_start(p, argv, NULL, fds[0], -1, -1, err, errlen) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[0]);
	return fds[1];
}

/* Closes the loader's stdin and waits; 0 or -1 with what it said. */
static int
loader_finish(struct proc *p, int fd, char *err, size_t errlen)
{
	char why[1024];
	int st;

	if (fd >= 0)
		close(fd);
	st = proc_wait(p);
	proc_stderr(p, why, sizeof(why));
	proc_release(p);
	if (st != 0) {
		snprintf(err, errlen, "the mariadb client failed (exit %d): %s",
		         st, why[0] ? why : "no message");
		return -1;
	}
	return 0;
}

/* The table's record of backup m, when reachable: digests must agree. */
static int
check_row(struct job *j, const struct backup_manifest *m, char *err,
          size_t errlen)
{
	struct backup b;
	int rc;

	rc = job_db(j) ? store_backup_get(j->db, &j->a, m->id, &b) : -1;
	if (rc < 0) {
		log_warn("backups table unreachable: checking backup %" PRId64
		         " against its manifest only",
		         m->id);
		return 0;
	}
	if (rc == 0)
		return 0; /* a restored database may not know it */
	if (b.file_sha256 && strcmp(b.file_sha256, m->stats.file_sha256) != 0) {
		snprintf(err, errlen,
		         "the manifest of backup %" PRId64 " does not match "
		         "the backups table (file SHA-256)",
		         m->id);
		return -1;
	}
	return 0;
}

/*
 * Verifies backup ref for job j (see backupjob_verify()).  row_id, when
 * not 0, is the row whose queued verification this is: its result is
 * recorded there whatever ref turns out to be.  0 passed, 1 failed.
 */
static int
verify_backup(struct job *j, const char *ref, int load, int64_t row_id)
{
	const struct config *c = j->c;
	char err[2048] = "", err2[1024], container[4400];
	struct backup_manifest m;
	struct scratchdb s;
	struct buf prologue = BUF_INIT(512);
	struct proc p;
	int lock, rc = 1, fd = -1;
	long ntables = 0;
	int64_t t0 = now_usec(), id;

	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	lock = lock_take(c, "files.lock", LOCK_SH);
	if (resolve(j, ref, &m, container, sizeof(container), err,
	            sizeof(err)) < 0 ||
	    check_row(j, &m, err, sizeof(err)) < 0)
		goto out_report;
	if (!load) {
		if (stream_container(j, container, &m, BACKUP_KIND_DUMP, NULL,
		                     -1, err, sizeof(err)) < 0)
			goto out_report;
	} else {
		if (job_tmp(j, err, sizeof(err)) < 0 ||
		    scratchdb_start(&s, j->tmp,
		                    c->backup_scratch_buffer_pool_mb, err,
		                    sizeof(err)) < 0)
			goto out_report;
		/* The scratch database comes first in the loader's input. */
		if (store_backup_load_prologue(&prologue, VERIFY_DB, 0) < 0)
			abort();
		fd = loader_start(&p, NULL, s.socket, "information_schema", 0,
		                  err, sizeof(err));
		if (fd < 0)
			goto out_report;
		if (stream_container(j, container, &m, BACKUP_KIND_DUMP,
		                     prologue.s, fd, err, sizeof(err)) < 0) {
			/* The loader's own words explain a broken pipe. */
			if (loader_finish(&p, fd, err2, sizeof(err2)) < 0 &&
			    strstr(err, "loader stopped"))
				snprintf(err, sizeof(err), "%s", err2);
			goto out_report;
		}
		if (loader_finish(&p, fd, err, sizeof(err)) < 0 ||
		    check_loaded(j, s.socket, VERIFY_DB, &m, &ntables, err,
		                 sizeof(err)) < 0)
			goto out_report;
	}
	rc = 0;
out_report:
	scratchdb_stop(&s);
	buf_release(&prologue);
	id = row_id ? row_id : m.id;
	if (id > 0 && job_db(j)) {
		char e[ERR_MAX + 1];

		copy_text(e, sizeof(e), err, ERR_MAX);
		(void)store_backup_verified(j->db, &j->a, id,
		                            rc == 0 ? "passed" : "failed",
		                            rc == 0 ? NULL : e);
	}
	if (rc == 0)
		fprintf(j->out,
		        "rtrw-backup verify: backup %" PRId64
		        " passed: %" PRIu64 " chunks, %" PRIu64
		        " bytes, SHA-256 %s; %s in %.1f s\n",
		        m.id, m.stats.chunks, m.stats.plain_bytes,
		        m.stats.plain_sha256,
		        load ? "loaded into a scratch server, schema and "
		               "tables match"
		             : "not loaded (--no-load)",
		        (double)(now_usec() - t0) / 1e6);
	else {
		fprintf(j->out, "rtrw-backup verify: backup %s FAILED: %s\n",
		        ref, err);
		/* A backup that cannot be restored is a failed backup. */
		report(j, 1, id, "", "", err);
	}
	if (rc == 0 && load)
		fprintf(j->out,
		        "rtrw-backup verify: %ld tables, schema version "
		        "%" PRId64 "\n",
		        ntables, m.schema_version);
	if (lock >= 0)
		close(lock);
	backup_manifest_release(&m);
	return rc;
}

int
backupjob_verify(const struct config *c, const char *ref, int load, FILE *out)
{
	struct job j;
	int rc;

	job_init(&j, c, out);
	rc = verify_backup(&j, ref, load, 0);
	job_release(&j);
	return rc;
}

int
backupjob_queued(const struct config *c, FILE *out)
{
	char started[32], ref[24];
	struct job j;
	int64_t id;
	int lock, rc = 0, q;

	job_init(&j, c, out);
	fmt_time(time(NULL), started, sizeof(started), 0);
	lock = run_begin(&j, "api", started);
	if (lock < 0) {
		rc = lock == -1 ? 0 : 1;
		goto out;
	}
	/* Verifications a pass on this host left running: it died. */
	if (store_backup_verify_stale(j.db, &j.a, j.host,
	                              "the verification was interrupted "
	                              "before it finished") > 0)
		log_warn("interrupted verifications marked failed");
	q = claim_queued(&j, &id);
	if (q < 0) {
		fail_backup(&j, 0, "api", started,
		            "the database server is unreachable");
		rc = 1;
		goto out_unlock;
	}
	if (q == 1 && take_backup(&j, id, "api", started) != 0)
		rc = 1;
	/*
	 * Then every queued verification, one at a time: each starts its
	 * own scratch server, and the run lock keeps the daily backup and
	 * other passes out meanwhile.
	 */
	while (store_backup_verify_next(j.db, &j.a, j.host, &id) == 1) {
		snprintf(ref, sizeof(ref), "%" PRId64, id);
		log_info("verification started: backup=%" PRId64, id);
		if (verify_backup(&j, ref, 1, id) != 0)
			rc = 1;
		arena_reset(&j.a);
	}
out_unlock:
	close(lock);
out:
	job_release(&j);
	return rc;
}

/* ---- restore ---------------------------------------------------------- */

/* The archived logs from (file, pos) on that --until needs. */
struct chain {
	struct found_list l;
	size_t first, n; /* l.v[first .. first + n) */
};

static int
plan_chain(struct job *j, const struct backup_manifest *m, time_t until,
           struct chain *ch, char *err, size_t errlen)
{
	char dir[4200], last[32];
	int64_t seq = binlog_name_seq(m->binlog_file), want;
	size_t i;

	memset(ch, 0, sizeof(*ch));
	if (seq < 0) {
		snprintf(err, errlen,
		         "backup %" PRId64 " has no binary log position: it "
		         "can only be restored as it is (without --until)",
		         m->id);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/binlog/%" PRId64, j->c->backup_dir,
	         m->server_id);
	if (scan_manifests(dir, BACKUP_KIND_BINLOG, &ch->l) < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", dir,
		         strerror(errno));
		return -1;
	}
	for (i = 0; i < ch->l.n && ch->l.v[i].seq < seq; i++)
		;
	ch->first = i;
	want = seq;
	for (; i < ch->l.n; i++) {
		time_t first_at;

		if (ch->l.v[i].seq != want)
			break; /* a gap: what follows cannot be used */
		if (i > ch->first &&
		    (parse_time(ch->l.v[i].m.first_event_at, &first_at) < 0 ||
		     first_at > until))
			break;
		ch->n++;
		want++;
	}
	if (ch->n == 0) {
		snprintf(err, errlen,
		         "binary log %s, where backup %" PRId64 " starts, is "
		         "not archived in '%s'; run rtrw-backup binlog",
		         m->binlog_file, m->id, dir);
		return -1;
	}
	/*
	 * The logs reach T when the last one used was closed at T or later
	 * (its last event is the rotation), or the next archived one starts
	 * after T.  Otherwise what happened between its close and T sits in
	 * a log that is not archived yet.
	 */
	{
		const struct found *f = &ch->l.v[ch->first + ch->n - 1];
		size_t next = ch->first + ch->n;

		if (f->when < until &&
		    !(next < ch->l.n && ch->l.v[next].seq == f->seq + 1)) {
			fmt_time(f->when, last, sizeof(last), 0);
			snprintf(err, errlen,
			         "the archived binary logs reach %s UTC only "
			         "(%s); run rtrw-backup binlog, or restore to "
			         "an earlier time",
			         last, f->m.binlog_file);
			return -1;
		}
	}
	return 0;
}

int
backupjob_restore(const struct config *c, const char *ref, const char *until,
                  const struct backupjob_target *tg, FILE *out)
{
	char err[2048] = "", err2[1024] = "", container[4400], cnf[4200] = "",
	     binlog_dir[4300], until_s[32] = "";
	struct buf prologue = BUF_INIT(512);
	const char *db_name = tg->database[0] ? tg->database : c->db_name;
	const char *user = tg->user[0]           ? tg->user
	                   : c->db_admin_user[0] ? c->db_admin_user
	                                         : c->db_user;
	const char *pwfile = tg->password_file[0] ? tg->password_file
	                     : tg->user[0]        ? ""
	                     : c->db_admin_password_file[0]
	                         ? c->db_admin_password_file
	                         : c->db_password_file;
	const char *socket = tg->socket[0] ? tg->socket
	                     : tg->host[0] ? ""
	                                   : c->db_socket;
	const char *host = tg->host[0] ? tg->host : c->db_host;
	int port = tg->port ? tg->port : c->db_port;
	struct backup_manifest m;
	struct chain ch;
	struct proc p;
	struct job j;
	time_t until_t = 0, snap;
	int lock, rc = 1, fd;
	int64_t t0 = now_usec(), t_load = 0;
	struct buf files = BUF_INIT(0);

	job_init(&j, c, out);
	memset(&m, 0, sizeof(m));
	memset(&ch, 0, sizeof(ch));
	lock = lock_take(c, "files.lock", LOCK_SH);
	if (!ident_ok(db_name)) {
		snprintf(err, sizeof(err),
		         "the target database name must be [a-z0-9_]");
		goto out;
	}
	if (until && parse_time(until, &until_t) < 0) {
		snprintf(err, sizeof(err),
		         "--until must be 'YYYY-MM-DD HH:MM:SS' (UTC)");
		goto out;
	}
	if (resolve(&j, ref, &m, container, sizeof(container), err,
	            sizeof(err)) < 0)
		goto out;
	if (until) {
		if (parse_time(m.snapshot_at[0] ? m.snapshot_at : m.finished_at,
		               &snap) < 0 ||
		    until_t < snap) {
			snprintf(err, sizeof(err),
			         "backup %" PRId64 " was taken at %s, after "
			         "--until; choose an older backup",
			         m.id, m.snapshot_at);
			goto out;
		}
		if (plan_chain(&j, &m, until_t, &ch, err, sizeof(err)) < 0)
			goto out;
		fmt_time(until_t, until_s, sizeof(until_s), 0);
	}

	/*
	 * Everything is checked before the target is touched: the backup
	 * to its last chunk and both digests, and every binary log it
	 * needs, decrypted into the private directory for mariadb-binlog.
	 */
	if (stream_container(&j, container, &m, BACKUP_KIND_DUMP, NULL, -1, err,
	                     sizeof(err)) < 0)
		goto out;
	if (ch.n && job_tmp(&j, err, sizeof(err)) < 0)
		goto out;
	snprintf(binlog_dir, sizeof(binlog_dir), "%s/binlogs", j.tmp);
	if (ch.n && mkdir(binlog_dir, 0700) < 0) {
		snprintf(err, sizeof(err), "cannot create '%s': %s", binlog_dir,
		         strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < ch.n; i++) {
		const struct found *f = &ch.l.v[ch.first + i];
		char src[4400], dst[4400];
		int ofd;

		container_of(f->path, src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s/%s", binlog_dir,
		         f->m.binlog_file);
		ofd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (ofd < 0) {
			snprintf(err, sizeof(err), "cannot create '%s': %s",
			         dst, strerror(errno));
			goto out;
		}
		if (stream_container(&j, src, &f->m, BACKUP_KIND_BINLOG, NULL,
		                     ofd, err, sizeof(err)) < 0) {
			close(ofd);
			goto out;
		}
		close(ofd);
		buf_addf(&files, "%s%c", dst, '\0');
	}

	/* The target: refuse a database with tables unless --replace. */
	if (write_defaults(&j, "target", user, pwfile, socket, host, port, cnf,
	                   sizeof(cnf), err, sizeof(err)) < 0)
		goto out;
	{
		struct db *tdb =
		    target_db(&j, user, pwfile, socket, host, port,
		              "information_schema", err2, sizeof(err2));
		int64_t n = -1;
		int ok = tdb && store_backup_schema_tables(tdb, &j.a, db_name,
		                                           &n) == 0;

		db_close(tdb);
		arena_reset(&j.a);
		if (!ok) {
			snprintf(
			    err, sizeof(err),
			    "the target server cannot be reached as '%s'%s%s",
			    user, err2[0] ? ": " : "", err2);
			goto out;
		}
		if (n != 0 && !tg->replace) {
			snprintf(err, sizeof(err),
			         "the target database '%s' holds %" PRId64
			         " tables; pass --replace to overwrite it",
			         db_name, n);
			goto out;
		}
	}
	if (store_backup_load_prologue(&prologue, db_name, tg->replace) < 0)
		abort(); /* db_name was checked above */
	fd = loader_start(&p, cnf, NULL, "information_schema", 0, err,
	                  sizeof(err));
	if (fd < 0)
		goto out;
	if (stream_container(&j, container, &m, BACKUP_KIND_DUMP, prologue.s,
	                     fd, err, sizeof(err)) < 0) {
		if (loader_finish(&p, fd, err2, sizeof(err2)) < 0 &&
		    strstr(err, "loader stopped"))
			snprintf(err, sizeof(err), "%s", err2);
		snprintf(err2, sizeof(err2), "%s", err);
		snprintf(err, sizeof(err),
		         "loading failed, the target database '%s' is "
		         "incomplete: %s",
		         db_name, err2);
		goto out;
	}
	if (loader_finish(&p, fd, err, sizeof(err)) < 0)
		goto out;
	t_load = now_usec();

	if (ch.n) {
		char start[64], stop[64], dbopt[128], rewrite[200];
		const char *argv[16 + 4096];
		size_t k = 0, nf = 0;
		struct proc bl;
		int pipefd[2], bst;
		char why[1024];
		const char *env[] = {"TZ=UTC", NULL};

		snprintf(start, sizeof(start), "--start-position=%" PRId64,
		         m.binlog_pos);
		snprintf(stop, sizeof(stop), "--stop-datetime=%s", until_s);
		snprintf(dbopt, sizeof(dbopt), "--database=%s", m.database);
		snprintf(rewrite, sizeof(rewrite), "--rewrite-db=%s->%s",
		         m.database, db_name);
		argv[k++] = "mariadb-binlog";
		argv[k++] = "--no-defaults";
		argv[k++] = start;
		argv[k++] = stop;
		argv[k++] = dbopt;
		if (strcmp(m.database, db_name) != 0)
			argv[k++] = rewrite;
		for (const char *f = files.s; nf < ch.n && k < 16 + 4095;
		     f += strlen(f) + 1, nf++)
			argv[k++] = f;
		argv[k] = NULL;
		fd = loader_start(&p, cnf, NULL, db_name, 1, err, sizeof(err));
		if (fd < 0)
			goto out;
		/* mariadb-binlog writes straight into the loader's stdin. */
		pipefd[1] = fd;
		if (proc_start(&bl, argv, env, -1, pipefd[1], -1, err,
		               sizeof(err)) < 0) {
			loader_finish(&p, fd, err2, sizeof(err2));
			goto out;
		}
		close(fd);
		bst = proc_wait(&bl);
		proc_stderr(&bl, why, sizeof(why));
		proc_release(&bl);
		if (loader_finish(&p, -1, err2, sizeof(err2)) < 0 || bst != 0) {
			snprintf(err, sizeof(err),
			         "replaying the binary logs failed, the target "
			         "is restored only up to the backup plus part "
			         "of the logs: %s",
			         bst != 0 ? why : err2);
			goto out;
		}
	}
	/* What the target now holds must be the backup's schema. */
	{
		struct db *tdb = target_db(&j, user, pwfile, socket, host, port,
		                           db_name, err2, sizeof(err2));
		int64_t v = -1;
		int ok = tdb && store_backup_schema_version(tdb, &j.a, &v) == 0;

		db_close(tdb);
		arena_reset(&j.a);
		if (!ok || v < m.schema_version) {
			snprintf(
			    err, sizeof(err),
			    "the restored database is not at schema "
			    "version %" PRId64 " (it says %" PRId64 ")%s%s",
			    m.schema_version, v, err2[0] ? ": " : "", err2);
			goto out;
		}
	}
	fprintf(out,
	        "rtrw-backup restore: backup %" PRId64 " restored into '%s' "
	        "(load %.1f s)",
	        m.id, db_name, (double)(t_load - t0) / 1e6);
	if (ch.n)
		fprintf(out,
		        "; binary logs replayed from %s:%" PRId64
		        " up to %s UTC (%zu files, %.1f s)",
		        m.binlog_file, m.binlog_pos, until_s, ch.n,
		        (double)(now_usec() - t_load) / 1e6);
	fprintf(out, "\n");
	rc = 0;
out:
	if (rc != 0)
		fprintf(out, "rtrw-backup restore: REFUSED or FAILED: %s\n",
		        err);
	if (cnf[0] && access(cnf, F_OK) == 0)
		drop_defaults(cnf);
	if (lock >= 0)
		close(lock);
	buf_release(&files);
	buf_release(&prologue);
	found_release(&ch.l);
	backup_manifest_release(&m);
	job_release(&j);
	return rc;
}

/* ---- prune ----------------------------------------------------------- */

static int
remove_pair(const char *manifest_path)
{
	char container[4400];

	container_of(manifest_path, container, sizeof(container));
	/* The container first: a manifest alone is noticed and retried. */
	if (unlink(container) < 0 && errno != ENOENT)
		return -1;
	return unlink(manifest_path) < 0 && errno != ENOENT ? -1 : 0;
}

int
backupjob_prune(const struct config *c, FILE *out)
{
	char dir[4200];
	struct found_list full = {0};
	struct job j;
	time_t cutoff = time(NULL) - (time_t)c->backup_retention_days * 86400;
	long removed = 0, kept = 0, logs_removed = 0, logs_kept = 0, failed = 0;
	size_t newest = 0;
	int lock, rc = 1;
	int64_t nrows;
	DIR *d;
	struct dirent *de;

	job_init(&j, c, out);
	lock = lock_take(c, "files.lock", LOCK_EX | LOCK_NB);
	if (lock == -1) {
		fprintf(out, "rtrw-backup prune: a verify or restore is "
		             "reading the backups; nothing done\n");
		rc = 0;
		goto out;
	}
	if (lock < 0) {
		log_error("prune failed: cannot lock '%s/files.lock'",
		          c->backup_dir);
		goto out;
	}
	/* Pruning marks rows: without the table it would leave lies. */
	if (!job_db(&j) || store_backup_count(j.db, &j.a, &nrows) < 0) {
		log_error("prune failed: the backups table is unreachable");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/full", c->backup_dir);
	if (scan_manifests(dir, BACKUP_KIND_DUMP, &full) < 0) {
		log_error("prune failed: cannot read '%s'", dir);
		goto out;
	}
	for (size_t i = 0; i < full.n; i++)
		if (full.v[i].when >= full.v[newest].when)
			newest = i;
	for (size_t i = 0; i < full.n; i++) {
		struct found *f = &full.v[i];

		/* The newest backup stays, however old: never none. */
		if (f->when == 0 || f->when >= cutoff || i == newest) {
			kept++;
			continue;
		}
		if (remove_pair(f->path) < 0) {
			log_error("cannot remove backup '%s': %s", f->path,
			          strerror(errno));
			failed++;
			kept++;
			continue;
		}
		(void)store_backup_pruned(j.db, &j.a, f->m.id);
		fprintf(out,
		        "rtrw-backup prune: removed backup %" PRId64
		        " (%s, finished %s)\n",
		        f->m.id, f->m.file, f->m.finished_at);
		f->when = -1; /* gone */
		removed++;
	}
	/* Binary logs: per server, those no kept backup starts at or before. */
	snprintf(dir, sizeof(dir), "%s/binlog", c->backup_dir);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		char sdir[4500];
		struct found_list l;
		int64_t sid, need = INT64_MAX;

		if (parse_int64(de->d_name, 0, UINT32_MAX, &sid) < 0)
			continue;
		for (size_t i = 0; i < full.n; i++) {
			int64_t s = binlog_name_seq(full.v[i].m.binlog_file);

			if (full.v[i].when != -1 &&
			    full.v[i].m.server_id == sid && s >= 0 && s < need)
				need = s;
		}
		snprintf(sdir, sizeof(sdir), "%s/%s", dir, de->d_name);
		if (scan_manifests(sdir, BACKUP_KIND_BINLOG, &l) < 0)
			continue;
		for (size_t i = 0; i < l.n; i++) {
			const struct found *f = &l.v[i];

			if (f->when == 0 || f->when >= cutoff ||
			    f->seq >= need) {
				logs_kept++;
				continue;
			}
			if (remove_pair(f->path) < 0) {
				log_error("cannot remove '%s': %s", f->path,
				          strerror(errno));
				failed++;
				continue;
			}
			logs_removed++;
		}
		found_release(&l);
	}
	if (d)
		closedir(d);
	fprintf(out,
	        "rtrw-backup prune: retention %d days; removed %ld backups "
	        "and %ld binary logs; kept %ld backups and %ld binary logs\n",
	        c->backup_retention_days, removed, logs_removed, kept,
	        logs_kept);
	rc = failed ? 1 : 0;
out:
	if (lock >= 0)
		close(lock);
	found_release(&full);
	job_release(&j);
	return rc;
}
