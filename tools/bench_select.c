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

#define MAX_WORKERS 256
#define NCOLS       6
#define COL_MAX     128

static const char query[] =
    "SELECT id, slug, name, timezone, status, created_at "
    "FROM bench_rows ORDER BY id LIMIT 20";

static volatile sig_atomic_t stopping;
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
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

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

static pid_t
spawn(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		_exit(serve(fd));
	}
	if (pid < 0)
		fprintf(stderr, "bench_select: fork failed: %s\n",
		        strerror(errno));
	return pid;
}

static int
open_listener(const char *listen)
{
	const char *path = listen;
	int fd;

	if (strncmp(path, "unix:", 5) == 0) {
		path += 5;
		unlink(path);
	}
	fd = FCGX_OpenSocket(path, 1024);
	if (fd < 0) {
		fprintf(stderr, "bench_select: cannot listen on '%s'\n",
		        listen);
		return -1;
	}
	if (listen != path && chmod(path, 0666) < 0) {
		fprintf(stderr, "bench_select: chmod '%s' failed: %s\n", path,
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL, *listen_opt = NULL, *sock;
	char err[512];
	pid_t pids[MAX_WORKERS] = {0};
	struct sigaction sa;
	int fd, workers = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_opt = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			workers = (int)strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_select --config FILE "
			                "[--listen unix:PATH] [--workers N]\n");
			return 2;
		}
	}
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_select: %s\n", err);
		return 1;
	}
	if (workers <= 0)
		workers = cfg.workers;
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers <= 0)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;

	if (FCGX_Init() != 0 || mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	sock = listen_opt ? listen_opt : cfg.listen;
	fd = open_listener(sock);
	if (fd < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < workers; i++)
		pids[i] = spawn(fd);

	/* Supervise: a worker that dies is replaced until we are told to
	 * stop; wait() returns early with EINTR when a signal arrives. */
	while (!stopping) {
		pid_t dead = wait(NULL);

		if (dead < 0) {
			if (errno == EINTR)
				continue;
			sleep(1);
		}
		for (i = 0; i < workers && !stopping; i++)
			if (pids[i] == dead || pids[i] <= 0)
				pids[i] = spawn(fd);
	}
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	if (strncmp(sock, "unix:", 5) == 0)
		unlink(sock + 5);
	mysql_library_end();
	return 0;
}
