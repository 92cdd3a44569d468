/*
 * bench_select: the ceiling of a FastCGI worker that runs one small query.
 * Every request executes a prepared 20-row SELECT on MariaDB and writes the
 * rows as JSON, which is roughly what a list endpoint costs without
 * authentication, validation or the application's own layers.
 *
 *   bench_select --config FILE [--listen unix:/path.sock] [--workers N]
 *
 * The database connection comes from the configuration file (db_socket or
 * db_host/db_port, db_user, db_password_file); the database name is usually
 * overridden with RTRW_DB_NAME=rtrw_bench, where tools/bench.sh creates and
 * fills the table bench_rows.  Each worker connects once, prepares the
 * statement once and reconnects after an error.  This is a tool, not
 * application code: it uses libfcgi and mysql.h directly.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "tools/bench_pool.h"

#define NCOLS   6
#define COL_MAX 128

static const char query[] =
    "SELECT id, slug, name, timezone, status, created_at "
    "FROM bench_rows ORDER BY id LIMIT 20";

static struct config cfg;

struct db {
	MYSQL *conn;
	MYSQL_STMT *stmt;
	MYSQL_BIND out[NCOLS];
	char val[NCOLS][COL_MAX];
	unsigned long len[NCOLS];
	my_bool is_null[NCOLS];
	long long id;
};

static void
db_close(struct db *d)
{
	if (d->stmt)
		mysql_stmt_close(d->stmt);
	if (d->conn)
		mysql_close(d->conn);
	d->stmt = NULL;
	d->conn = NULL;
}

static int
db_open(struct db *d)
{
	char password[256], err[512];
	unsigned int timeout = (unsigned int)cfg.db_connect_timeout;
	int i;

	if (config_read_password(cfg.db_password_file, password,
	                         sizeof(password), err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_select: %s\n", err);
		return -1;
	}
	d->conn = mysql_init(NULL);
	if (!d->conn)
		return -1;
	mysql_options(d->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (!mysql_real_connect(d->conn, cfg.db_host, cfg.db_user, password,
	                        cfg.db_name, (unsigned int)cfg.db_port,
	                        cfg.db_socket[0] ? cfg.db_socket : NULL, 0)) {
		fprintf(stderr, "bench_select: connect failed: %s\n",
		        mysql_error(d->conn));
		explicit_bzero(password, sizeof(password));
		goto out_close;
	}
	explicit_bzero(password, sizeof(password));
	d->stmt = mysql_stmt_init(d->conn);
	if (!d->stmt ||
	    mysql_stmt_prepare(d->stmt, query, (unsigned long)strlen(query))) {
		fprintf(stderr, "bench_select: prepare failed: %s\n",
		        mysql_error(d->conn));
		goto out_close;
	}
	memset(d->out, 0, sizeof(d->out));
	d->out[0].buffer_type = MYSQL_TYPE_LONGLONG;
	d->out[0].buffer = &d->id;
	d->out[0].is_null = &d->is_null[0];
	for (i = 1; i < NCOLS; i++) {
		d->out[i].buffer_type = MYSQL_TYPE_STRING;
		d->out[i].buffer = d->val[i];
		d->out[i].buffer_length = COL_MAX;
		d->out[i].length = &d->len[i];
		d->out[i].is_null = &d->is_null[i];
	}
	if (mysql_stmt_bind_result(d->stmt, d->out)) {
		fprintf(stderr, "bench_select: bind failed: %s\n",
		        mysql_stmt_error(d->stmt));
		goto out_close;
	}
	return 0;

out_close:
	db_close(d);
	return -1;
}

/* Writes s as a JSON string; the bench rows hold plain ASCII only, but
 * quotes and backslashes are escaped all the same. */
static void
put_json_str(FCGX_Stream *out, const char *s, unsigned long n)
{
	unsigned long i;

	FCGX_PutChar('"', out);
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			FCGX_PutChar('\\', out);
		if ((unsigned char)s[i] >= 0x20)
			FCGX_PutChar(s[i], out);
	}
	FCGX_PutChar('"', out);
}

static int
run_query(struct db *d, FCGX_Stream *out)
{
	static const char *const names[NCOLS] = {
	    "id", "slug", "name", "timezone", "status", "created_at"};
	int rc, i, first = 1;

	if (!d->conn && db_open(d) < 0)
		return -1;
	if (mysql_stmt_execute(d->stmt) || mysql_stmt_store_result(d->stmt)) {
		fprintf(stderr, "bench_select: query failed: %s\n",
		        mysql_stmt_error(d->stmt));
		db_close(d);
		return -1;
	}
	FCGX_FPrintF(out, "Status: 200 OK\r\n"
	                  "Content-Type: application/json; charset=utf-8\r\n"
	                  "Cache-Control: no-store\r\n\r\n"
	                  "{\"data\":[");
	while ((rc = mysql_stmt_fetch(d->stmt)) == 0 ||
	       rc == MYSQL_DATA_TRUNCATED) {
		FCGX_PutStr(first ? "{" : ",{", first ? 1 : 2, out);
		first = 0;
		FCGX_FPrintF(out, "\"id\":%lld", d->id);
		for (i = 1; i < NCOLS; i++) {
			unsigned long n =
			    d->len[i] < COL_MAX ? d->len[i] : COL_MAX;

			FCGX_FPrintF(out, ",\"%s\":", names[i]);
			if (d->is_null[i])
				FCGX_PutS("null", out);
			else
				put_json_str(out, d->val[i], n);
		}
		FCGX_PutChar('}', out);
	}
	FCGX_PutS("]}\n", out);
	mysql_stmt_free_result(d->stmt);
	return 0;
}

static int
serve(int fd)
{
	FCGX_Request req;
	struct db d;

	memset(&d, 0, sizeof(d));
	if (mysql_thread_init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		return 1;
	db_open(&d);
	while (FCGX_Accept_r(&req) >= 0) {
		if (run_query(&d, req.out) < 0)
			FCGX_FPrintF(req.out,
			             "Status: 503 Service Unavailable\r\n"
			             "Content-Type: application/json\r\n\r\n"
			             "{\"error\":{\"code\":\"unavailable\","
			             "\"message\":\"database is down\"}}\n");
		FCGX_Finish_r(&req);
	}
	db_close(&d);
	return 0;
}

int
main(int argc, char **argv)
{
	return bench_pool_main(argc, argv, "bench_select", &cfg, serve);
}
