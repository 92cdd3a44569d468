/*
 * Schema migrations: discovery and verification of migration files, the
 * up/down/to/status/seed logic, and the MariaDB and PostgreSQL drivers.
 * See migrate.h for the file layout and the guarantees of each driver.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <mysql.h>
#include <openssl/evp.h>

#include "buf.h"
#include "config.h"
#include "store/migrate.h"
#include "util.h"

#define UP_SUFFIX   ".up.sql"
#define DOWN_SUFFIX ".down.sql"

/* Key of the PostgreSQL advisory lock that serialises migrators. */
#define PG_LOCK_SQL "SELECT pg_advisory_lock(7278770019)"
#define MY_LOCK_SQL "SELECT GET_LOCK('rtrw_migrate', 30)"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a sentence into err and returns -1, for "return fail(...)". */
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
store_migrate_parse_filename(const char *fname, int *version, char *name,
                             size_t namelen, int *is_up, char *err,
                             size_t errlen)
{
	size_t len = strlen(fname), stem, i;
	int64_t v;
	int up;

	if (has_suffix(fname, UP_SUFFIX)) {
		up = 1;
		stem = len - strlen(UP_SUFFIX);
	} else if (has_suffix(fname, DOWN_SUFFIX)) {
		up = 0;
		stem = len - strlen(DOWN_SUFFIX);
	} else {
		fail(err, errlen, "'%s' does not end in %s or %s", fname,
		     UP_SUFFIX, DOWN_SUFFIX);
		return 0;
	}
	if (stem < 6 || fname[4] != '_') {
		fail(err, errlen, "'%s' is not named NNNN_name%s", fname,
		     up ? UP_SUFFIX : DOWN_SUFFIX);
		return 0;
	}
	for (i = 0; i < 4; i++) {
		if (fname[i] < '0' || fname[i] > '9') {
			fail(err, errlen,
			     "'%s' does not start with a four-digit version",
			     fname);
			return 0;
		}
	}
	if (parse_int64_n(fname, 4, 1, MIGRATE_VERSION_MAX, &v) != 0) {
		fail(err, errlen,
		     "'%s' has version 0000; versions start at 0001", fname);
		return 0;
	}
	for (i = 5; i < stem; i++) {
		char c = fname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_')) {
			fail(err, errlen,
			     "'%s' has a name with '%c'; use a-z, 0-9 and _",
			     fname, c);
			return 0;
		}
	}
	if (stem - 5 > MIGRATE_NAME_MAX || stem - 5 >= namelen) {
		fail(err, errlen, "'%s' has a name that is too long", fname);
		return 0;
	}
	memcpy(name, fname + 5, stem - 5);
	name[stem - 5] = '\0';
	*version = (int)v;
	*is_up = up;
	return 1;
}

static void
sha256_hex(const void *data, size_t len, char out[MIGRATE_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	/* EVP_Digest only fails when out of memory; that aborts as xmalloc. */
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		abort();
	hex_encode(md, mdlen, out);
}

int
store_migrate_read_file(const char *path, char **out, size_t *len, char *err,
                        size_t errlen)
{
	struct stat st;
	FILE *f;
	char *s = NULL;
	size_t n;
	int rc = -1;

	f = fopen(path, "rb");
	if (f == NULL)
		return fail(err, errlen, "cannot open '%s': %s", path,
		            strerror(errno));
	if (fstat(fileno(f), &st) != 0) {
		fail(err, errlen, "cannot stat '%s': %s", path,
		     strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "'%s' is not a regular file", path);
		goto out_close;
	}
	if (st.st_size <= 0) {
		fail(err, errlen, "'%s' is empty", path);
		goto out_close;
	}
	if (st.st_size > MIGRATE_FILE_MAX) {
		fail(err, errlen, "'%s' is larger than %d bytes", path,
		     MIGRATE_FILE_MAX);
		goto out_close;
	}
	s = xmalloc((size_t)st.st_size + 1);
	n = fread(s, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size || ferror(f)) {
		fail(err, errlen, "cannot read '%s'", path);
		free(s);
		goto out_close;
	}
	s[n] = '\0';
	*out = s;
	*len = n;
	rc = 0;
out_close:
	fclose(f);
	return rc;
}

int
store_migrate_checksum_file(const char *path, char out[MIGRATE_SHA256_HEX],
                            char *err, size_t errlen)
{
	char *s;
	size_t len;

	if (store_migrate_read_file(path, &s, &len, err, errlen) != 0)
		return -1;
	sha256_hex(s, len, out);
	free(s);
	return 0;
}

/* One file found by the directory walk, before pairing. */
struct found {
	int version;
	int is_up;
	char name[MIGRATE_NAME_MAX + 1];
	char *fname;
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (x->is_up != y->is_up)
		return y->is_up - x->is_up; /* up before down */
	c = strcmp(x->name, y->name);
	return c;
}

static char *
path_join(const char *dir, const char *fname)
{
	struct buf b = BUF_INIT(4096);

	buf_adds(&b, dir);
	if (b.len > 0 && b.s[b.len - 1] != '/')
		buf_addch(&b, '/');
	buf_adds(&b, fname);
	return buf_detach(&b);
}

void
store_migrate_set_release(struct migration_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->items[i].up_path);
		free(set->items[i].down_path);
	}
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

/*
 * Pairs the sorted files into migrations.  Each version must appear as
 * exactly one up and one down file with the same name, and the versions
 * must run 1, 2, 3 ... without gaps.
 */
static int
pair_files(const char *dir, struct found *f, size_t nf,
           struct migration_set *set, char *err, size_t errlen)
{
	size_t i = 0, j, nup, ndown;
	int expect = 1;

	set->items = nf ? xcalloc(nf, sizeof(*set->items)) : NULL;
	set->n = 0;
	while (i < nf) {
		struct found *up = NULL, *down = NULL;
		struct migration *m;

		nup = ndown = 0;
		for (j = i; j < nf && f[j].version == f[i].version; j++) {
			if (f[j].is_up) {
				if (nup++ == 0)
					up = &f[j];
			} else if (ndown++ == 0) {
				down = &f[j];
			}
		}
		if (nup > 1 || ndown > 1) {
			struct found *a = &f[i], *b = &f[i + 1];

			if (nup <= 1) {
				a = down;
				b = down + 1;
			}
			return fail(err, errlen,
			            "duplicate migration version %04d in '%s': "
			            "'%s' and '%s'",
			            f[i].version, dir, a->fname, b->fname);
		}
		if (f[i].version != expect) {
			if (expect == 1)
				return fail(err, errlen,
				            "migrations in '%s' must start at "
				            "0001, the first is '%s'",
				            dir, f[i].fname);
			return fail(err, errlen,
			            "migration %04d is missing in '%s' "
			            "(gap before '%s')",
			            expect, dir, f[i].fname);
		}
		if (up == NULL)
			return fail(err, errlen,
			            "'%s' in '%s' has no matching "
			            "%04d_%s" UP_SUFFIX,
			            down->fname, dir, down->version,
			            down->name);
		if (down == NULL)
			return fail(err, errlen,
			            "'%s' in '%s' has no matching "
			            "%04d_%s" DOWN_SUFFIX,
			            up->fname, dir, up->version, up->name);
		if (strcmp(up->name, down->name) != 0)
			return fail(err, errlen,
			            "migration %04d in '%s' has differently "
			            "named halves: '%s' and '%s'",
			            up->version, dir, up->fname, down->fname);

		m = &set->items[set->n++];
		m->version = up->version;
		memcpy(m->name, up->name, sizeof(m->name));
		snprintf(m->up_file, sizeof(m->up_file), "%s", up->fname);
		m->up_path = path_join(dir, up->fname);
		m->down_path = path_join(dir, down->fname);
		if (store_migrate_checksum_file(m->up_path, m->checksum, err,
		                                errlen) != 0)
			return -1;
		expect++;
		i = j;
	}
	return 0;
}

int
store_migrate_scan(const char *dir, struct migration_set *set, char *err,
                   size_t errlen)
{
	struct found *f = NULL;
	size_t nf = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;
	int rc = -1;

	set->items = NULL;
	set->n = 0;
	d = opendir(dir);
	if (d == NULL)
		return fail(err, errlen,
		            "cannot open migration directory '%s': %s", dir,
		            strerror(errno));
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		struct found *cur;
		char why[300];

		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".sql"))
			continue;
		if (nf == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			f = xrealloc(f, alloc * sizeof(*f));
		}
		cur = &f[nf];
		if (!store_migrate_parse_filename(
		        de->d_name, &cur->version, cur->name, sizeof(cur->name),
		        &cur->is_up, why, sizeof(why))) {
			fail(err, errlen, "bad migration file name in '%s': %s",
			     dir, why);
			goto out_free;
		}
		cur->fname = xstrdup(de->d_name);
		nf++;
	}
	if (errno != 0) {
		fail(err, errlen, "cannot read migration directory '%s': %s",
		     dir, strerror(errno));
		goto out_free;
	}
	if (nf == 0) {
		fail(err, errlen, "no migration files in '%s'", dir);
		goto out_free;
	}
	qsort(f, nf, sizeof(*f), found_cmp);
	rc = pair_files(dir, f, nf, set, err, errlen);
	if (rc != 0)
		store_migrate_set_release(set);
out_free:
	for (i = 0; i < nf; i++)
		free(f[i].fname);
	free(f);
	closedir(d);
	return rc;
}

int
store_migrate_verify(const struct migration_set *set,
                     const struct migrate_applied *applied, size_t napplied,
                     int *current, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < napplied; i++) {
		const struct migrate_applied *a = &applied[i];
		const struct migration *m;

		if (a->version != (int)i + 1)
			return fail(err, errlen,
			            "schema_migrations is not contiguous: "
			            "expected version %04zu, found %04d",
			            i + 1, a->version);
		if (i >= set->n)
			return fail(err, errlen,
			            "database has migration %04d_%s applied "
			            "but there is no file for it (newest file "
			            "is %04zu); use a newer release",
			            a->version, a->name, set->n);
		m = &set->items[i];
		if (strcmp(a->name, m->name) != 0)
			return fail(err, errlen,
			            "migration %04d was applied as '%s' but "
			            "the file is '%s'; applied migrations must "
			            "not be renamed",
			            a->version, a->name, m->up_file);
		if (strcmp(a->checksum, m->checksum) != 0)
			return fail(err, errlen,
			            "migration file '%s' was edited after it "
			            "was applied (checksum %.12s..., applied "
			            "%.12s...); put changes in a new migration",
			            m->up_path, m->checksum, a->checksum);
	}
	*current = (int)napplied;
	return 0;
}

/* --------------------------------------------------------------------- */
/* MariaDB driver                                                          */

struct my_ctx {
	MYSQL *my;
};

static void
my_fail(MYSQL *my, char *err, size_t errlen, const char *what)
{
	fail(err, errlen, "%s: %s (MariaDB error %u)", what, mysql_error(my),
	     mysql_errno(my));
}

/*
 * Runs a text of one or more statements and drains every result, so the
 * connection is ready for the next command.  An error in any statement
 * stops the rest.
 */
static int
my_run(MYSQL *my, const char *sql, size_t len, const char *what, char *err,
       size_t errlen)
{
	MYSQL_RES *res;
	int status;

	if (mysql_real_query(my, sql, len) != 0) {
		my_fail(my, err, errlen, what);
		return -1;
	}
	for (;;) {
		res = mysql_store_result(my);
		if (res != NULL) {
			mysql_free_result(res);
		} else if (mysql_field_count(my) != 0) {
			my_fail(my, err, errlen, what);
			return -1;
		}
		status = mysql_next_result(my);
		if (status > 0) {
			my_fail(my, err, errlen, what);
			return -1;
		}
		if (status < 0)
			break;
	}
	return 0;
}

static int
my_exec_params(void *vctx, const char *sql, int nparams,
               const char *const *params, char *err, size_t errlen)
{
	struct my_ctx *ctx = vctx;
	MYSQL_BIND bind[8];
	unsigned long lens[8];
	MYSQL_STMT *st;
	int i, rc = -1;

	if (nparams == 0)
		return my_run(ctx->my, sql, strlen(sql), sql, err, errlen);
	if (nparams < 0 || nparams > (int)ARRAY_SIZE(bind))
		return fail(err, errlen, "too many parameters for '%s'", sql);
	st = mysql_stmt_init(ctx->my);
	if (st == NULL) {
		my_fail(ctx->my, err, errlen, "cannot allocate a statement");
		return -1;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		fail(err, errlen, "cannot prepare '%s': %s", sql,
		     mysql_stmt_error(st));
		goto out_close_stmt;
	}
	if (mysql_stmt_param_count(st) != (unsigned long)nparams) {
		fail(err, errlen, "'%s' takes %lu parameters, not %d", sql,
		     mysql_stmt_param_count(st), nparams);
		goto out_close_stmt;
	}
	memset(bind, 0, sizeof(bind));
	for (i = 0; i < nparams; i++) {
		lens[i] = strlen(params[i]);
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = (void *)(uintptr_t)params[i];
		bind[i].buffer_length = lens[i];
		bind[i].length = &lens[i];
	}
	if (mysql_stmt_bind_param(st, bind) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		fail(err, errlen, "'%s' failed: %s", sql, mysql_stmt_error(st));
		goto out_close_stmt;
	}
	rc = 0;
out_close_stmt:
	mysql_stmt_close(st);
	return rc;
}

static int
my_ensure_table(void *vctx, char *err, size_t errlen)
{
	struct my_ctx *ctx = vctx;
	static const char sql[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INT NOT NULL PRIMARY KEY,"
	    " name VARCHAR(200) NOT NULL,"
	    " checksum CHAR(64) NOT NULL,"
	    " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	    " COLLATE=utf8mb4_unicode_ci";

	return my_run(ctx->my, sql, sizeof(sql) - 1,
	              "cannot create schema_migrations", err, errlen);
}

static int
copy_applied_row(struct migrate_applied *a, const char *version,
                 const char *name, const char *checksum, const char *at,
                 char *err, size_t errlen)
{
	int64_t v;

	if (version == NULL || name == NULL || checksum == NULL ||
	    parse_int64(version, 1, MIGRATE_VERSION_MAX, &v) != 0)
		return fail(err, errlen,
		            "schema_migrations has a malformed row");
	a->version = (int)v;
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->checksum, sizeof(a->checksum), "%s", checksum);
	snprintf(a->applied_at, sizeof(a->applied_at), "%s", at ? at : "");
	return 0;
}

static int
my_list_applied(void *vctx, struct migrate_applied **out, size_t *n, char *err,
                size_t errlen)
{
	struct my_ctx *ctx = vctx;
	static const char sql[] =
	    "SELECT version, name, checksum,"
	    " DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%sZ')"
	    " FROM schema_migrations ORDER BY version";
	struct migrate_applied *rows;
	MYSQL_RES *res;
	MYSQL_ROW row;
	size_t i = 0, count;
	int rc = -1;

	if (mysql_real_query(ctx->my, sql, sizeof(sql) - 1) != 0) {
		my_fail(ctx->my, err, errlen, "cannot read schema_migrations");
		return -1;
	}
	res = mysql_store_result(ctx->my);
	if (res == NULL) {
		my_fail(ctx->my, err, errlen, "cannot read schema_migrations");
		return -1;
	}
	count = (size_t)mysql_num_rows(res);
	rows = xcalloc(count ? count : 1, sizeof(*rows));
	while ((row = mysql_fetch_row(res)) != NULL && i < count) {
		if (copy_applied_row(&rows[i], row[0], row[1], row[2], row[3],
		                     err, errlen) != 0)
			goto out_free_res;
		i++;
	}
	*out = rows;
	*n = i;
	rows = NULL;
	rc = 0;
out_free_res:
	free(rows);
	mysql_free_result(res);
	return rc;
}

static int
my_apply(void *vctx, const struct migration *m, int up, const char *sql,
         size_t len, char *err, size_t errlen)
{
	struct my_ctx *ctx = vctx;
	char what[MIGRATE_NAME_MAX + 64], version[16];
	const char *params[3];

	snprintf(what, sizeof(what), "migration %04d_%s%s failed", m->version,
	         m->name, up ? UP_SUFFIX : DOWN_SUFFIX);
	if (my_run(ctx->my, sql, len, what, err, errlen) != 0) {
		size_t used = strlen(err);

		/* MariaDB commits DDL statement by statement. */
		if (used < errlen)
			snprintf(err + used, errlen - used,
			         "; statements before the failing one stay "
			         "applied");
		return -1;
	}
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->checksum;
	if (up)
		return my_exec_params(ctx,
		                      "INSERT INTO schema_migrations"
		                      " (version, name, checksum, applied_at)"
		                      " VALUES (?, ?, ?, UTC_TIMESTAMP())",
		                      3, params, err, errlen);
	return my_exec_params(ctx,
	                      "DELETE FROM schema_migrations WHERE version = ?",
	                      1, params, err, errlen);
}

static void
my_close(void *vctx)
{
	struct my_ctx *ctx = vctx;

	if (ctx == NULL)
		return;
	if (ctx->my != NULL)
		mysql_close(ctx->my);
	free(ctx);
	/* The tool makes one connection: free the client library with it. */
	mysql_library_end();
}

static const struct migrate_driver_ops my_ops = {
    my_ensure_table, my_list_applied, my_apply, my_exec_params, my_close,
};

int
store_migrate_mysql_open(struct migrate_driver *d, const struct config *c,
                         char *err, size_t errlen)
{
	struct my_ctx *ctx;
	const char *user, *pwfile, *host, *sock;
	char pw[512], where[CONFIG_STR_MAX + 16];
	unsigned int timeout = (unsigned int)c->db_connect_timeout;
	unsigned int port;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int locked;

	memset(d, 0, sizeof(*d));
	user = c->db_admin_user[0] ? c->db_admin_user : c->db_user;
	pwfile = c->db_admin_password_file[0] ? c->db_admin_password_file
	                                      : c->db_password_file;
	if (config_read_password(pwfile, pw, sizeof(pw), err, errlen) != 0)
		return -1;
	if (c->db_socket[0]) {
		host = "localhost";
		sock = c->db_socket;
		port = 0;
		snprintf(where, sizeof(where), "%s", c->db_socket);
	} else {
		host = c->db_host;
		sock = NULL;
		port = (unsigned int)c->db_port;
		snprintf(where, sizeof(where), "%s:%d", c->db_host, c->db_port);
	}

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->my = mysql_init(NULL);
	if (ctx->my == NULL)
		abort();
	if (mysql_options(ctx->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) ||
	    mysql_options(ctx->my, MYSQL_SET_CHARSET_NAME, "utf8mb4")) {
		fail(err, errlen, "cannot set MariaDB client options");
		goto out_close;
	}
	if (mysql_real_connect(ctx->my, host, user, pw, c->db_name, port, sock,
	                       CLIENT_MULTI_STATEMENTS) == NULL) {
		fail(err, errlen,
		     "cannot connect to MariaDB database '%s' at '%s' as "
		     "'%s': %s",
		     c->db_name, where, user, mysql_error(ctx->my));
		goto out_close;
	}
	explicit_bzero(pw, sizeof(pw));
	if (my_run(ctx->my, "SET time_zone = '+00:00'", 24,
	           "cannot set the session time zone", err, errlen) != 0)
		goto out_close;
	if (mysql_real_query(ctx->my, MY_LOCK_SQL, strlen(MY_LOCK_SQL)) != 0 ||
	    (res = mysql_store_result(ctx->my)) == NULL) {
		my_fail(ctx->my, err, errlen, "cannot take the migration lock");
		goto out_close;
	}
	row = mysql_fetch_row(res);
	locked = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
	mysql_free_result(res);
	if (!locked) {
		fail(err, errlen,
		     "another rtrw-migrate holds the migration "
		     "lock of this database");
		goto out_close;
	}
	d->ops = &my_ops;
	d->ctx = ctx;
	d->dialect = MIGRATE_MYSQL;
	return 0;
out_close:
	explicit_bzero(pw, sizeof(pw));
	my_close(ctx);
	return -1;
}

/* --------------------------------------------------------------------- */
/* PostgreSQL driver                                                       */

struct pg_ctx {
	PGconn *pg;
};

/* Copies the first line of a libpq message (they end in newlines). */
static void
pg_msg(char *dst, size_t dstlen, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	snprintf(dst, dstlen, "%.*s", (int)n, msg ? msg : "");
}

static int
pg_check(PGconn *pg, PGresult *res, const char *what, char *err, size_t errlen)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	char msg[512];
	const char *primary;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	pg_msg(msg, sizeof(msg), primary ? primary : PQerrorMessage(pg));
	return fail(err, errlen, "%s: %s", what, msg);
}

static int
pg_cmd(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	int rc = pg_check(pg, res, what, err, errlen);

	PQclear(res);
	return rc;
}

static int
pg_exec_params(void *vctx, const char *sql, int nparams,
               const char *const *params, char *err, size_t errlen)
{
	struct pg_ctx *ctx = vctx;
	PGresult *res;
	int rc;

	if (nparams == 0)
		return pg_cmd(ctx->pg, sql, sql, err, errlen);
	res = PQexecParams(ctx->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	rc = pg_check(ctx->pg, res, sql, err, errlen);
	PQclear(res);
	return rc;
}

static int
pg_ensure_table(void *vctx, char *err, size_t errlen)
{
	struct pg_ctx *ctx = vctx;

	return pg_cmd(ctx->pg,
	              "CREATE TABLE IF NOT EXISTS schema_migrations ("
	              " version integer PRIMARY KEY,"
	              " name varchar(200) NOT NULL,"
	              " checksum char(64) NOT NULL,"
	              " applied_at timestamptz NOT NULL DEFAULT now())",
	              "cannot create schema_migrations", err, errlen);
}

static int
pg_list_applied(void *vctx, struct migrate_applied **out, size_t *n, char *err,
                size_t errlen)
{
	struct pg_ctx *ctx = vctx;
	struct migrate_applied *rows;
	PGresult *res;
	int i, count, rc = -1;

	res = PQexec(ctx->pg, "SELECT version, name, checksum,"
	                      " to_char(applied_at AT TIME ZONE 'UTC',"
	                      " 'YYYY-MM-DD HH24:MI:SS\"Z\"')"
	                      " FROM schema_migrations ORDER BY version");
	if (pg_check(ctx->pg, res, "cannot read schema_migrations", err,
	             errlen) != 0)
		goto out_clear;
	count = PQntuples(res);
	rows = xcalloc(count > 0 ? (size_t)count : 1, sizeof(*rows));
	for (i = 0; i < count; i++) {
		if (copy_applied_row(&rows[i], PQgetvalue(res, i, 0),
		                     PQgetvalue(res, i, 1),
		                     PQgetvalue(res, i, 2),
		                     PQgetvalue(res, i, 3), err, errlen) != 0) {
			free(rows);
			goto out_clear;
		}
	}
	*out = rows;
	*n = (size_t)count;
	rc = 0;
out_clear:
	PQclear(res);
	return rc;
}

static int
pg_apply(void *vctx, const struct migration *m, int up, const char *sql,
         size_t len, char *err, size_t errlen)
{
	struct pg_ctx *ctx = vctx;
	char what[MIGRATE_NAME_MAX + 64], version[16];
	const char *params[3];

	(void)len; /* PQexec reads up to the NUL that read_file added. */
	snprintf(what, sizeof(what), "migration %04d_%s%s failed", m->version,
	         m->name, up ? UP_SUFFIX : DOWN_SUFFIX);
	if (pg_cmd(ctx->pg, "BEGIN", "cannot begin a transaction", err,
	           errlen) != 0)
		return -1;
	if (pg_cmd(ctx->pg, sql, what, err, errlen) != 0)
		goto out_rollback;
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->checksum;
	if (up) {
		if (pg_exec_params(ctx,
		                   "INSERT INTO schema_migrations"
		                   " (version, name, checksum)"
		                   " VALUES ($1, $2, $3)",
		                   3, params, err, errlen) != 0)
			goto out_rollback;
	} else if (pg_exec_params(ctx,
	                          "DELETE FROM schema_migrations"
	                          " WHERE version = $1",
	                          1, params, err, errlen) != 0) {
		goto out_rollback;
	}
	if (pg_cmd(ctx->pg, "COMMIT", what, err, errlen) != 0)
		goto out_rollback;
	return 0;
out_rollback:
	/* The first error is the one worth reporting; ignore this one's. */
	PQclear(PQexec(ctx->pg, "ROLLBACK"));
	return -1;
}

static void
pg_close(void *vctx)
{
	struct pg_ctx *ctx = vctx;

	if (ctx == NULL)
		return;
	PQfinish(ctx->pg);
	free(ctx);
}

static void
pg_quiet(void *arg, const char *message)
{
	/* NOTICEs such as "table does not exist, skipping" are noise here. */
	(void)arg;
	(void)message;
}

static const struct migrate_driver_ops pg_ops = {
    pg_ensure_table, pg_list_applied, pg_apply, pg_exec_params, pg_close,
};

int
store_migrate_pg_open(struct migrate_driver *d, const char *conninfo, char *err,
                      size_t errlen)
{
	struct pg_ctx *ctx;
	char msg[512];

	memset(d, 0, sizeof(*d));
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->pg = PQconnectdb(conninfo ? conninfo : "");
	if (ctx->pg == NULL)
		abort();
	if (PQstatus(ctx->pg) != CONNECTION_OK) {
		pg_msg(msg, sizeof(msg), PQerrorMessage(ctx->pg));
		fail(err, errlen, "cannot connect to PostgreSQL: %s", msg);
		goto out_close;
	}
	PQsetNoticeProcessor(ctx->pg, pg_quiet, NULL);
	if (pg_cmd(ctx->pg, "SET TIME ZONE 'UTC'",
	           "cannot set the session time zone", err, errlen) != 0 ||
	    pg_cmd(ctx->pg, PG_LOCK_SQL, "cannot take the migration lock", err,
	           errlen) != 0)
		goto out_close;
	d->ops = &pg_ops;
	d->ctx = ctx;
	d->dialect = MIGRATE_POSTGRES;
	return 0;
out_close:
	pg_close(ctx);
	return -1;
}

void
store_migrate_driver_close(struct migrate_driver *d)
{
	if (d->ops != NULL)
		d->ops->close(d->ctx);
	d->ops = NULL;
	d->ctx = NULL;
}

/* --------------------------------------------------------------------- */
/* Commands                                                                */

/*
 * Makes sure schema_migrations exists, reads it and verifies it against
 * the files.  On success *current is the applied version and, when
 * rowsp is given, the rows are handed to the caller.
 */
static int
load_state(struct migrate_driver *d, const struct migration_set *set,
           int *current, struct migrate_applied **rowsp, char *err,
           size_t errlen)
{
	struct migrate_applied *rows = NULL;
	size_t n = 0;
	int rc;

	if (d->ops->ensure_table(d->ctx, err, errlen) != 0 ||
	    d->ops->list_applied(d->ctx, &rows, &n, err, errlen) != 0)
		return -1;
	rc = store_migrate_verify(set, rows, n, current, err, errlen);
	if (rc == 0 && rowsp != NULL) {
		*rowsp = rows;
		rows = NULL;
	}
	free(rows);
	return rc;
}

/* Applies one migration file, refusing one that changed since the scan. */
static int
apply_one(struct migrate_driver *d, const struct migration *m, int up,
          char *err, size_t errlen)
{
	char sum[MIGRATE_SHA256_HEX];
	char *sql;
	size_t len;
	int rc = -1;

	if (store_migrate_read_file(up ? m->up_path : m->down_path, &sql, &len,
	                            err, errlen) != 0)
		return -1;
	if (up) {
		sha256_hex(sql, len, sum);
		if (strcmp(sum, m->checksum) != 0) {
			fail(err, errlen,
			     "migration file '%s' changed while "
			     "rtrw-migrate was running",
			     m->up_path);
			goto out_free;
		}
	}
	rc = d->ops->apply(d->ctx, m, up, sql, len, err, errlen);
out_free:
	free(sql);
	return rc;
}

static int
run_plan(struct migrate_driver *d, const struct migration_set *set, int current,
         int target, FILE *out, char *err, size_t errlen)
{
	int v, from = current;

	if (target == current) {
		fprintf(out, "database is at version %04d; nothing to do\n",
		        current);
		return 0;
	}
	for (v = current + 1; v <= target; v++) {
		const struct migration *m = &set->items[v - 1];

		if (apply_one(d, m, 1, err, errlen) != 0)
			goto out_fail;
		fprintf(out, "applied  %04d_%s\n", m->version, m->name);
		current = v;
	}
	for (v = current; v > target; v--) {
		const struct migration *m = &set->items[v - 1];

		if (apply_one(d, m, 0, err, errlen) != 0)
			goto out_fail;
		fprintf(out, "reverted %04d_%s\n", m->version, m->name);
		current = v - 1;
	}
	fprintf(out, "migrated from version %04d to %04d (%d %s)\n", from,
	        current, abs(current - from),
	        current > from ? "applied" : "reverted");
	return 0;
out_fail:
	fflush(out);
	return -1;
}

int
store_migrate_to(struct migrate_driver *d, const struct migration_set *set,
                 int target, FILE *out, char *err, size_t errlen)
{
	int current;

	if (target < 0)
		target = (int)set->n;
	if ((size_t)target > set->n)
		return fail(err, errlen,
		            "there is no migration %04d; the newest is %04zu",
		            target, set->n);
	if (load_state(d, set, &current, NULL, err, errlen) != 0)
		return -1;
	return run_plan(d, set, current, target, out, err, errlen);
}

int
store_migrate_down(struct migrate_driver *d, const struct migration_set *set,
                   int n, FILE *out, char *err, size_t errlen)
{
	int current, target;

	if (load_state(d, set, &current, NULL, err, errlen) != 0)
		return -1;
	target = n < 0 || n > current ? 0 : current - n;
	return run_plan(d, set, current, target, out, err, errlen);
}

int
store_migrate_status(struct migrate_driver *d, const struct migration_set *set,
                     FILE *out, char *err, size_t errlen)
{
	struct migrate_applied *rows = NULL;
	int current;
	size_t i;

	if (load_state(d, set, &current, &rows, err, errlen) != 0)
		return -1;
	for (i = 0; i < set->n; i++) {
		const struct migration *m = &set->items[i];

		if ((int)i < current)
			fprintf(out, "%04d_%-40s applied %s\n", m->version,
			        m->name, rows[i].applied_at);
		else
			fprintf(out, "%04d_%-40s pending\n", m->version,
			        m->name);
	}
	fprintf(out, "version %04d of %04zu (%zu pending)\n", current, set->n,
	        set->n - (size_t)current);
	free(rows);
	return 0;
}

/*
 * Seed data: each statement in both dialects with its bound values.  The
 * statements are written so that running them twice changes nothing.
 * Only reference data belongs here; the demo tenant and its users come
 * from `rtrw-admin demo`, which hashes their passwords.
 */
struct seed {
	const char *what;
	const char *mysql;
	const char *pg;
	int nparams;
	const char *params[3];
};

#define SEED_ROLE_MY                                                           \
	"INSERT INTO roles (name, `rank`, description) VALUES (?, ?, ?)"       \
	" ON DUPLICATE KEY UPDATE `rank` = VALUES(`rank`),"                    \
	" description = VALUES(description)"
#define SEED_ROLE_PG                                                           \
	"INSERT INTO roles (name, rank, description) VALUES ($1, $2, $3)"      \
	" ON CONFLICT (name) DO UPDATE SET rank = EXCLUDED.rank,"              \
	" description = EXCLUDED.description"

/* clang-format off */
static const struct seed seeds[] = {
	{ "role admin", SEED_ROLE_MY, SEED_ROLE_PG, 3,
	  { "admin", "40", "Everything, including users, settings and deletes" } },
	{ "role operator", SEED_ROLE_MY, SEED_ROLE_PG, 3,
	  { "operator", "30", "Customers, plans, payments, routers and reports" } },
	{ "role technician", SEED_ROLE_MY, SEED_ROLE_PG, 3,
	  { "technician", "20", "Tickets, devices and inventory" } },
	{ "role viewer", SEED_ROLE_MY, SEED_ROLE_PG, 3,
	  { "viewer", "10", "Read-only access" } },
};
/* clang-format on */

int
store_migrate_seed(struct migrate_driver *d, const struct migration_set *set,
                   FILE *out, char *err, size_t errlen)
{
	char why[512];
	size_t i;
	int current;

	if (load_state(d, set, &current, NULL, err, errlen) != 0)
		return -1;
	if (current < 1)
		return fail(err, errlen,
		            "cannot seed: no migrations applied; "
		            "run 'rtrw-migrate up' first");
	if (d->ops->exec_params(d->ctx, "BEGIN", 0, NULL, err, errlen) != 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(seeds); i++) {
		const struct seed *s = &seeds[i];

		if (d->ops->exec_params(
		        d->ctx, d->dialect == MIGRATE_MYSQL ? s->mysql : s->pg,
		        s->nparams, s->params, why, sizeof(why)) != 0) {
			fail(err, errlen, "cannot seed %s: %s", s->what, why);
			goto out_rollback;
		}
	}
	if (d->ops->exec_params(d->ctx, "COMMIT", 0, NULL, err, errlen) != 0)
		goto out_rollback;
	for (i = 0; i < ARRAY_SIZE(seeds); i++)
		fprintf(out, "seeded   %s\n", seeds[i].what);
	fprintf(out, "seed complete\n");
	return 0;
out_rollback:
	/* Keep the first error; a failed rollback adds nothing useful. */
	d->ops->exec_params(d->ctx, "ROLLBACK", 0, NULL, why, sizeof(why));
	return -1;
}
