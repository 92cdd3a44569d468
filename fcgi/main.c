/*
 * rtrw-api: the FastCGI application server.
 *
 * The master loads and checks the configuration (secrets, statement
 * tables, SQL), opens the listening socket, pre-forks the workers and
 * supervises them: a worker that dies is replaced (with back-off, so a
 * crash loop does not spin), SIGHUP replaces every worker gracefully with
 * one started from a re-read configuration, SIGTERM or SIGINT drains:
 * workers finish the request in hand and exit, stragglers are killed
 * after a grace period.
 *
 * Each worker owns one MariaDB connection, one memcached handle and one
 * request arena, and serves one request at a time.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "cache.h"
#include "config.h"
#include "store/registry.h"
#include "tdb.h"
#include "dispatch.h"
#include "http.h"
#include "ratelimit.h"
#include "log.h"
#include "routes.h"
#include "schema.h"
#include "util.h"

#define MAX_WORKERS     256
#define DRAIN_SECONDS   10
#define BACKOFF_MIN_US  100000
#define BACKOFF_MAX_US  10000000
#define STABLE_AFTER_US 5000000
#define BODY_READ_CHUNK 65536

struct wslot {
	pid_t pid;
	int64_t started_us;
	int64_t respawn_at_us; /* 0: not waiting */
	int fails;             /* quick deaths in a row */
};

static struct config cfg;
static const char *config_path;
static int listen_fd = -1;
static char unix_path[CONFIG_STR_MAX];

/* ---- worker ---------------------------------------------------------- */

static int nslots; /* workers of this master */

static volatile sig_atomic_t worker_stop;

static void
worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static const char *
param(FCGX_Request *fr, const char *name)
{
	return FCGX_GetParam(name, fr->envp);
}

/* Logfmt-safe copy of untrusted text: no quotes, controls or backslashes. */
static void
log_safe(struct buf *b, const char *s, size_t max)
{
	for (size_t i = 0; s && s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf_addch(b, (c < 0x20 || c == '"' || c == '\\' || c == 0x7f)
		                 ? '?'
		                 : (char)c);
	}
}

static void
access_log(const struct req *r, const char *raw_path)
{
	struct buf b = BUF_INIT(1024);
	double ms = (double)(now_usec() - r->started_us) / 1000.0;

	buf_addf(&b, "msg=request method=%s path=\"",
	         r->method_str ? r->method_str : "-");
	log_safe(&b, raw_path, 200);
	buf_addf(&b, "\" status=%d dur_ms=%.2f rid=%s", r->status, ms,
	         r->request_id);
	if (r->who.tenant_id)
		buf_addf(&b, " tenant=%" PRId64 " user=%" PRId64,
		         r->who.tenant_id, r->who.user_id);
	else
		buf_adds(&b, " tenant=- user=-");
	if (r->err_code)
		buf_addf(&b, " error=%s", r->err_code);
	log_line(b.s);
	buf_release(&b);
}

/*
 * Writes the status line and headers: type, length when >= 0, and for a
 * download (filename set) Content-Disposition.  0, or -1 when the
 * connection failed.
 */
static int
write_head(FCGX_Request *fr, const struct req *r, const char *type,
           const char *filename, int64_t length)
{
	struct buf h = BUF_INIT(8192);
	int rc;

	buf_addf(&h, "Status: %d %s\r\n", r->status, http_reason(r->status));
	if (r->status != 204)
		buf_addf(&h, "Content-Type: %s\r\n", type);
	if (length >= 0)
		buf_addf(&h, "Content-Length: %" PRId64 "\r\n", length);
	if (filename)
		buf_addf(&h,
		         "Content-Disposition: attachment; filename=\"%s\"\r\n",
		         filename);
	buf_addf(&h,
	         "X-Request-Id: %s\r\n"
	         "X-Content-Type-Options: nosniff\r\n"
	         "Cache-Control: no-store\r\n",
	         r->request_id);
	buf_add(&h, r->headers->s, r->headers->len);
	buf_adds(&h, "\r\n");
	rc = FCGX_PutStr(h.s, (int)h.len, fr->out) == (int)h.len ? 0 : -1;
	buf_release(&h);
	return rc;
}

static void
write_response(FCGX_Request *fr, struct req *r)
{
	int with_body = r->status != 204 && r->method != HTTP_HEAD;

	write_head(fr, r, "application/json; charset=utf-8", NULL,
	           with_body ? (int64_t)r->body_out->len : -1);
	if (with_body && r->body_out->len)
		FCGX_PutStr(r->body_out->s, (int)r->body_out->len, fr->out);
}

/* The transport of streamed responses (req_stream_begin() in http.h). */
static int
stream_head(void *ctx, const struct req *r)
{
	const struct req_stream *st = r->stream;

	return write_head(ctx, r, st->content_type, st->filename, st->length);
}

static int
stream_write(void *ctx, const void *data, size_t n)
{
	FCGX_Request *fr = ctx;
	const char *p = data;

	while (n > 0) {
		int k = n > BODY_READ_CHUNK ? BODY_READ_CHUNK : (int)n;

		if (FCGX_PutStr(p, k, fr->out) != k)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Ends a streamed response that failed after its head went out, when no
 * error envelope can be sent any more.  The client must see a failed
 * download, not a short file that looks complete, and FastCGI has no
 * "abort" record: nginx (without fastcgi_keep_conn, as we run it) takes a
 * closed connection for the normal end of a response of unknown length
 * and sends the last chunk.  So after the body so far, the worker sends a
 * record header of FastCGI version 0, which nginx refuses as an upstream
 * error; with the head already sent it then cuts the client's connection
 * (HTTP/1.1: no last chunk; HTTP/2: the stream is reset).  A response
 * with a Content-Length would be caught as short anyway.  FCGX_Finish_r()
 * then finds the socket shut and closes it.
 */
static void
abort_response(FCGX_Request *fr, const struct req *r)
{
	static const unsigned char bad_record[8] = {0};
	ssize_t n;

	log_warn("streamed response aborted after %" PRId64 " bytes: rid=%s",
	         r->stream->sent, r->request_id);
	if (FCGX_FFlush(fr->out) == 0)
		n = write(fr->ipcFd, bad_record, sizeof(bad_record));
	else
		n = -1;
	if (n != (ssize_t)sizeof(bad_record))
		log_warn("abort record not sent (the client is gone): rid=%s",
		         r->request_id);
	shutdown(fr->ipcFd, SHUT_RDWR);
}

/* Reads CONTENT_LENGTH bytes; 0, 1 when over the cap, -1 when short. */
static int
read_request_body(FCGX_Request *fr, struct req *r)
{
	const char *cl = param(fr, "CONTENT_LENGTH");
	int64_t len = 0;
	char *body;
	size_t got = 0;

	if (!cl || !*cl)
		return 0;
	if (parse_int64(cl, 0, INT64_MAX, &len) < 0)
		return -1;
	if (len > cfg.max_body_bytes)
		return 1;
	r->content_length = (long)len;
	if (len == 0)
		return 0;
	body = arena_alloc(r->a, (size_t)len + 1);
	if (!body)
		return -1;
	while (got < (size_t)len) {
		size_t want = (size_t)len - got;
		int n = FCGX_GetStr(
		    body + got,
		    (int)(want > BODY_READ_CHUNK ? BODY_READ_CHUNK : want),
		    fr->in);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	body[got] = '\0';
	r->body = body;
	r->body_len = got;
	return 0;
}

static void
handle(struct app *app, FCGX_Request *fr, struct arena *a, struct buf *hdrs,
       struct buf *out)
{
	struct req_stream st;
	struct req r;
	const char *uri, *q;
	size_t plen;
	int too_large = 0, bad = 0;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.headers = hdrs;
	r.body_out = out;
	r.started_us = now_usec();
	r.cfg = &cfg;
	memset(&st, 0, sizeof(st));
	st.head = stream_head;
	st.write = stream_write;
	st.ctx = fr;
	r.stream = &st;
	buf_reset(hdrs);
	buf_reset(out);

	req_set_request_id(&r, param(fr, "HTTP_X_REQUEST_ID"));
	r.method_str = param(fr, "REQUEST_METHOD");
	r.method = r.method_str ? http_method_parse(r.method_str) : HTTP_NONE;
	r.content_type = param(fr, "CONTENT_TYPE");
	r.remote_addr = param(fr, "REMOTE_ADDR");
	r.user_agent = param(fr, "HTTP_USER_AGENT");
	r.authorization = param(fr, "HTTP_AUTHORIZATION");

	uri = param(fr, "REQUEST_URI");
	if (!uri)
		uri = param(fr, "DOCUMENT_URI");
	if (!uri)
		uri = "/";
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen > REQ_MAX_PATH) {
		req_fail(&r, 414, "uri_too_long", "the URL is too long");
		goto out_error;
	}
	r.path = http_decode(a, uri, plen, 0, &bad);
	if (bad) {
		req_fail(&r, 400, "bad_request",
		         "the path has a bad percent-escape, a NUL or "
		         "invalid UTF-8");
		goto out_error;
	}
	if (!r.path)
		goto out_error;
	if (req_parse_query(&r, q ? q + 1 : param(fr, "QUERY_STRING")) < 0)
		goto out_error;
	switch (read_request_body(fr, &r)) {
	case 0:
		break;
	case 1:
		too_large = 1;
		break;
	default:
		req_fail(&r, 400, "bad_request",
		         "the request body could not be read");
		goto out_error;
	}
	dispatch(app, &r, too_large);
	switch (req_stream_end(&r)) {
	case 1:
		goto out_log;
	case -1:
		abort_response(fr, &r);
		goto out_log;
	}
	goto out_write;

out_error:
	http_error(&r);
out_write:
	write_response(fr, &r);
out_log:
	access_log(&r, uri);
}

static void
worker_main(void)
{
	struct sigaction sa;
	struct app app;
	struct arena a;
	struct buf hdrs, out;
	FCGX_Request fr;
	sigset_t none;
	char err[512];

	/* Die with the master rather than serve unsupervised. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term;
	/* No SA_RESTART: a blocked accept() must return to see the flag. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (getppid() == 1)
		exit(0);

	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	app.api_routes = routes_api;
	app.root_routes = routes_root;
	app.db = db_open(&cfg, 0, err, sizeof(err));
	if (!app.db) {
		log_error("worker start failed: %s", err);
		exit(1);
	}
	app.cache = cache_open(cfg.memcached);
	if (!app.cache)
		log_warn("memcached servers '%s' unusable, running uncached",
		         cfg.memcached);
	ratelimit_setup(nslots);
	arena_init(&a, (size_t)cfg.arena_cap_bytes);
	buf_init(&hdrs, 64 * 1024);
	buf_init(&out, 64L * 1024 * 1024);

	FCGX_Init();
	FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!worker_stop) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (worker_stop)
				break;
			if (errno != EINTR)
				log_warn("accept failed: %s", strerror(errno));
			continue;
		}
		handle(&app, &fr, &a, &hdrs, &out);
		FCGX_Finish_r(&fr);
		arena_reset(&a);
	}
	FCGX_Free(&fr, 0);
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&out);
	cache_close(app.cache);
	db_close(app.db);
	config_wipe(&cfg);
	exit(0);
}

/* ---- master ---------------------------------------------------------- */

static struct wslot slots[MAX_WORKERS];
static pid_t retiring[MAX_WORKERS * 2];
static int nretiring;

static pid_t
spawn(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		worker_main();
	return pid;
}

static void
slot_start(struct wslot *s)
{
	s->pid = spawn();
	s->started_us = now_usec();
	s->respawn_at_us = s->pid < 0 ? now_usec() + BACKOFF_MAX_US : 0;
	if (s->pid < 0)
		s->pid = 0;
}

/* A worker exited: decide when to start its replacement. */
static void
slot_died(struct wslot *s, int status)
{
	int64_t now = now_usec(), delay = 0;

	if (WIFSIGNALED(status))
		log_warn("worker %ld killed by signal %d", (long)s->pid,
		         WTERMSIG(status));
	else
		log_warn("worker %ld exited with status %d", (long)s->pid,
		         WEXITSTATUS(status));
	if (now - s->started_us < STABLE_AFTER_US) {
		if (s->fails < 20)
			s->fails++;
		delay = BACKOFF_MIN_US << (s->fails - 1);
		if (delay > BACKOFF_MAX_US)
			delay = BACKOFF_MAX_US;
	} else {
		s->fails = 0;
	}
	s->pid = 0;
	s->respawn_at_us = now + delay;
}

static void
reap(int stopping)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int found = 0;

		for (int i = 0; i < nretiring; i++) {
			if (retiring[i] == pid) {
				retiring[i] = retiring[--nretiring];
				found = 1;
				break;
			}
		}
		for (int i = 0; !found && i < nslots; i++) {
			if (slots[i].pid == pid) {
				found = 1;
				if (stopping)
					slots[i].pid = 0;
				else
					slot_died(&slots[i], status);
			}
		}
	}
}

static int
live_children(void)
{
	int n = nretiring;

	for (int i = 0; i < nslots; i++)
		n += slots[i].pid > 0;
	return n;
}

static void
signal_all(int sig)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
	for (int i = 0; i < nretiring; i++)
		kill(retiring[i], sig);
}

/* SIGHUP: re-read the configuration, start new workers, retire the old. */
static void
reload(void)
{
	struct config fresh;
	char err[512];

	if (config_load(&fresh, config_path, err, sizeof(err)) < 0 ||
	    config_load_secrets(&fresh, err, sizeof(err)) < 0) {
		log_error("reload failed, keeping the running configuration: "
		          "%s",
		          err);
		config_wipe(&fresh);
		return;
	}
	if (strcmp(fresh.listen, cfg.listen) != 0)
		log_warn("reload cannot move the listener from '%s'; restart "
		         "to apply",
		         cfg.listen);
	config_wipe(&cfg);
	memcpy(fresh.listen, cfg.listen, sizeof(cfg.listen));
	cfg = fresh;
	log_info("reload: replacing %d workers", nslots);
	for (int i = 0; i < nslots; i++) {
		if (slots[i].pid > 0 && nretiring < (int)ARRAY_SIZE(retiring)) {
			retiring[nretiring++] = slots[i].pid;
			kill(slots[i].pid, SIGTERM);
		}
		slots[i].fails = 0;
		slot_start(&slots[i]);
	}
}

static void
drain(int sfd)
{
	int64_t deadline = now_usec() + (int64_t)DRAIN_SECONDS * 1000000;

	log_info("draining %d workers", live_children());
	signal_all(SIGTERM);
	while (live_children() > 0 && now_usec() < deadline) {
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		struct signalfd_siginfo si;

		if (poll(&p, 1, 100) > 0 && read(sfd, &si, sizeof(si)) < 0 &&
		    errno != EAGAIN)
			break;
		reap(1);
	}
	if (live_children() > 0) {
		log_warn("drain timed out, killing %d workers",
		         live_children());
		signal_all(SIGKILL);
		while (live_children() > 0 && waitpid(-1, NULL, 0) > 0)
			reap(1);
	}
}

static int
open_listener(void)
{
	const char *spec = cfg.listen;

	if (strncmp(spec, "unix:", 5) == 0) {
		size_t n = strnlen(spec + 5, sizeof(unix_path) - 1);

		memcpy(unix_path, spec + 5, n);
		unix_path[n] = '\0';
		/* A socket left by a crashed master would make bind fail. */
		unlink(unix_path);
		listen_fd = FCGX_OpenSocket(unix_path, cfg.listen_backlog);
		/* nginx workers run as another user. */
		if (listen_fd >= 0 && chmod(unix_path, 0666) < 0) {
			log_error("chmod of socket '%s' failed: %s", unix_path,
			          strerror(errno));
			return -1;
		}
	} else {
		listen_fd = FCGX_OpenSocket(spec, cfg.listen_backlog);
	}
	if (listen_fd < 0) {
		log_error("listen on '%s' failed: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

static void
print_routes(const char *prefix, const struct route *table)
{
	char path[512];

	for (const struct route *rt = table; rt->pattern; rt++) {
		router_openapi_path(prefix, rt->pattern, path, sizeof(path));
		printf("%s %s %s\n", http_method_name(rt->method), path,
		       role_name(rt->role));
	}
}

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: rtrw-api [--config FILE] [--pidfile FILE] [--workers N]\n"
	    "       rtrw-api --check [--config FILE]   check and exit\n"
	    "       rtrw-api --routes                  print the routes\n"
	    "       rtrw-api --schema                  print the routes, "
	    "fields and responses as JSON\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *pidfile = NULL;
	int check_only = 0, workers = -1, sfd, rc = 1;
	int64_t nworkers;
	sigset_t mask;
	char err[512];
	struct db *db;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc)
			pidfile = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			if (parse_int64(argv[++i], 1, MAX_WORKERS, &nworkers))
				usage();
			workers = (int)nworkers;
		} else if (strcmp(argv[i], "--check") == 0)
			check_only = 1;
		else if (strcmp(argv[i], "--routes") == 0) {
			print_routes("", routes_root);
			print_routes(API_PREFIX, routes_api);
			return 0;
		} else if (strcmp(argv[i], "--schema") == 0) {
			return schema_print(stdout, routes_root, routes_api,
			                    API_PREFIX) < 0;
		} else
			usage();
	}

	log_setup("rtrw-api", LOG_INFO);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0 ||
	    config_load_secrets(&cfg, err, sizeof(err)) < 0) {
		log_error("refusing to start: %s", err);
		return 1;
	}
	log_setup("rtrw-api", (enum log_level)log_level_parse(cfg.log_level));
	if (store_register(err, sizeof(err)) < 0) {
		log_error("refusing to start: %s", err);
		goto out_wipe;
	}
	/* Prepare every statement once, so a bad one stops us here. */
	db = db_open(&cfg, 0, err, sizeof(err));
	if (!db) {
		log_error("refusing to start: %s", err);
		goto out_wipe;
	}
	switch (db_prepare_all(db, err, sizeof(err))) {
	case -1:
		log_error("refusing to start: %s", err);
		db_close(db);
		goto out_wipe;
	case 0:
		log_warn("database unreachable at start, statements not "
		         "checked; workers will connect when it is back");
		break;
	}
	db_close(db);
	if (check_only) {
		printf("configuration ok\n");
		rc = 0;
		goto out_wipe;
	}

	if (workers > 0)
		nslots = workers;
	else if (cfg.workers > 0)
		nslots = cfg.workers;
	else
		nslots = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nslots < 1)
		nslots = 1;
	if (nslots > MAX_WORKERS)
		nslots = MAX_WORKERS;

	if (open_listener() < 0)
		goto out_wipe;
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (!f) {
			log_error("cannot write pid file '%s': %s", pidfile,
			          strerror(errno));
			goto out_wipe;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("signalfd failed: %s", strerror(errno));
		goto out_wipe;
	}

	log_info("listening on '%s' with %d workers", cfg.listen, nslots);
	for (int i = 0; i < nslots; i++)
		slot_start(&slots[i]);

	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		int64_t now = now_usec(), next = -1;
		int timeout = -1;

		for (int i = 0; i < nslots; i++) {
			if (slots[i].pid == 0 && slots[i].respawn_at_us) {
				if (slots[i].respawn_at_us <= now)
					slot_start(&slots[i]);
				else if (next < 0 ||
				         slots[i].respawn_at_us < next)
					next = slots[i].respawn_at_us;
			}
		}
		if (next >= 0)
			timeout = (int)((next - now) / 1000) + 1;
		if (poll(&p, 1, timeout) <= 0)
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			reap(0);
		} else if (si.ssi_signo == SIGHUP) {
			reload();
		} else {
			break;
		}
	}
	drain(sfd);
	close(sfd);
	if (unix_path[0])
		unlink(unix_path);
	if (pidfile)
		unlink(pidfile);
	log_info("stopped");
	rc = 0;
out_wipe:
	config_wipe(&cfg);
	return rc;
}
