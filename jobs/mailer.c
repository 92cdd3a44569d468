/*
 * rtrw-mailer: sends the email notifications queue (lib/mailer.h).
 *
 *   rtrw-mailer [--config FILE] [--tenant ID | --platform] run|once
 *   rtrw-mailer [--config FILE] --tenant ID smtp-show|smtp-delete|templates
 *   rtrw-mailer [--config FILE] --tenant ID smtp-set --host H --port P
 *               --security S --from ADDR [--from-name NAME]
 *               [--username U [--password-stdin]] [--no-verify-tls]
 *   rtrw-mailer [--config FILE] --tenant ID template-set KEY < JSON
 *   rtrw-mailer [--config FILE] [--dedupe KEY] platform-notify KEY < JSON
 *
 * "run" is the service (systemd/rtrw-mailer.service): it sends whatever
 * is due, then looks again every mail_poll_seconds, until SIGTERM, which
 * lets the message in flight finish.  It is a long-running service rather
 * than a timer because it keeps its database connection and its SMTP
 * session between messages, picks up a retry when its back-off ends
 * instead of at the next timer tick, and needs nothing from the writers:
 * a poll is one indexed range read of ix_notifications_status, cheap
 * enough every few seconds, and email is not a real-time channel.
 * "once" sends what is due and exits (tests, catching up by hand).
 * Several mailers, on one host or many, may run at once.
 *
 * --tenant limits sending to one tenant's queue, --platform to the
 * platform's; the settings commands act on one tenant as
 * /api/v1/settings/smtp and /api/v1/email-templates will (the password
 * is read from standard input, never from the command line).
 * "platform-notify" queues platform mail (backup_failed) to every active
 * platform admin with the JSON payload on standard input, exactly as
 * notify_platform_admins() does for the backup job; it also checks the
 * platform's mail set-up by hand.
 *
 * Exit status: 0, 1 when the database failed or the configuration cannot
 * work, 2 for usage errors, 3 when settings were refused (the reason on
 * standard error).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "mailer.h"
#include "notify.h"
#include "row.h"
#include "store/mail.h"
#include "store/registry.h"
#include "tdb.h"
#include "template.h"
#include "util.h"

static const char usage_text[] =
    "usage: rtrw-mailer [--config FILE] [--tenant ID | --platform] run|once\n"
    "       rtrw-mailer [--config FILE] --tenant ID "
    "smtp-show|smtp-delete|templates\n"
    "       rtrw-mailer [--config FILE] --tenant ID smtp-set --host H "
    "--port P\n"
    "                   --security S --from ADDR [--from-name NAME]\n"
    "                   [--username U [--password-stdin]] "
    "[--no-verify-tls]\n"
    "       rtrw-mailer [--config FILE] --tenant ID template-set KEY < "
    "JSON\n"
    "       rtrw-mailer [--config FILE] [--dedupe KEY] platform-notify "
    "KEY < JSON\n"
    "\n"
    "commands:\n"
    "  run            send due mail, poll every mail_poll_seconds until "
    "SIGTERM\n"
    "  once           send what is due now and exit\n"
    "  smtp-show      print the tenant's SMTP settings (never the "
    "password)\n"
    "  smtp-set       store the tenant's SMTP settings\n"
    "  smtp-delete    forget them (the platform's server is used again)\n"
    "  templates      print the tenant's email templates\n"
    "  template-set   store one template from {\"subject\", "
    "\"body_html\",\n"
    "                 \"body_text\"} on standard input\n"
    "  platform-notify  queue KEY to every platform admin, payload on "
    "standard\n"
    "                 input\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	const char *config;
	int64_t tenant;
	int platform;
	const char *host, *security, *from, *from_name, *username, *dedupe;
	int64_t port;
	int password_stdin, no_verify;
};

/* Sleeps up to secs seconds, waking early when a signal set stop. */
static void
nap(int secs)
{
	struct timespec ts = {0, 100 * 1000 * 1000};

	for (int i = 0; i < secs * 10 && !stop; i++)
		nanosleep(&ts, NULL);
}

static int
cmd_send(const struct config *cfg, struct db *db, const struct opts *o,
         int forever)
{
	enum mailer_scope scope = o->tenant     ? MAILER_TENANT
	                          : o->platform ? MAILER_PLATFORM
	                                        : MAILER_ALL;
	const struct mailer_stats *st;
	struct mailer *m;
	char err[512];
	int rc = 0;

	m = mailer_new(cfg, db, scope, o->tenant, err, sizeof(err));
	if (!m) {
		log_error("mailer start failed: %s", err);
		return 1;
	}
	if (forever)
		log_info("mailer running: polling every %ds",
		         cfg->mail_poll_seconds);
	do {
		if (mailer_drain(m, &stop) < 0) {
			log_error("mailer pass failed: the database did not "
			          "answer");
			rc = 1;
			if (!forever)
				break;
		}
		if (forever)
			nap(cfg->mail_poll_seconds);
	} while (forever && !stop);
	st = mailer_stats(m);
	printf("rtrw-mailer %s: sent=%ld retried=%ld failed=%ld lost=%ld\n",
	       forever ? "run" : "once", st->sent, st->retried, st->failed,
	       st->lost);
	mailer_free(m);
	return forever ? 0 : rc;
}

/* Reads standard input whole (at most max bytes); NULL when too long. */
static char *
read_stdin(size_t max, size_t *len)
{
	struct buf b = BUF_INIT(max + 1);
	char chunk[4096];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&b, chunk, n);
	if (b.over || b.len > max) {
		explicit_bzero(b.s, b.len);
		buf_release(&b);
		return NULL;
	}
	*len = b.len;
	return buf_detach(&b);
}

static int
print_json(const cJSON *v)
{
	char *s = cJSON_Print(v);

	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

/* Prints the tenant's templates as the API lists them. */
static int
print_templates(struct arena *a, struct tdb *t)
{
	struct rows rs;
	cJSON *arr;
	int rc;

	if (store_mail_template_list(t, &rs) < 0)
		return 1;
	arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < rs.n; i++) {
		struct mailer_template_item item;
		cJSON *o = NULL;

		if (mailer_template_item(rows_at(&rs, i), a, &item) == 0)
			o = row_json(&mailer_template_item_row, &item);
		if (!o) {
			cJSON_Delete(arr);
			return 1;
		}
		cJSON_AddItemToArray(arr, o);
	}
	rc = arr ? print_json(arr) : 1;
	cJSON_Delete(arr);
	return rc;
}

static int
set_smtp(const struct config *cfg, struct tdb *t, const struct opts *o)
{
	struct mailer_smtp_input in = {
	    .host = o->host,
	    .port = o->port,
	    .security = o->security,
	    .username = o->username,
	    .from_email = o->from,
	    .from_name = o->from_name,
	    .verify_tls = !o->no_verify,
	};
	struct mailer_field_error e;
	struct mail_smtp current;
	char *pw = NULL;
	size_t n = 0;
	int r;

	if (o->password_stdin) {
		pw = read_stdin(1024, &n);
		if (!pw) {
			fprintf(stderr, "rtrw-mailer: password: too long\n");
			return 3;
		}
		while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
			pw[--n] = '\0';
		in.password = pw;
		in.set_password = 1;
	}
	if (tdb_begin(t) < 0)
		r = -1;
	else if ((r = store_mail_smtp_lock(t, &current)) >= 0)
		r = mailer_smtp_put(t, cfg, &in, r == 1 ? &current : NULL, &e);
	if (r == 1 && tdb_commit(t) < 0)
		r = -1;
	if (r != 1)
		tdb_rollback(t);
	if (pw) {
		explicit_bzero(pw, n);
		free(pw);
	}
	if (r == 0)
		fprintf(stderr, "rtrw-mailer: %s: %s\n", e.field, e.message);
	return r < 0 ? 1 : r == 0 ? 3 : 0;
}

static int
set_template(struct arena *a, struct tdb *t, const char *key)
{
	struct template_error e;
	const cJSON *s, *h, *x;
	char *text;
	size_t n;
	cJSON *body;
	int r;

	text = read_stdin(4 * TEMPLATE_BODY_MAX, &n);
	if (!text || json_parse(a, text, n, &body) != JSON_OK ||
	    !cJSON_IsObject(body)) {
		fprintf(stderr, "rtrw-mailer: standard input is not a JSON "
		                "object\n");
		free(text);
		return 3;
	}
	free(text);
	s = cJSON_GetObjectItemCaseSensitive(body, "subject");
	h = cJSON_GetObjectItemCaseSensitive(body, "body_html");
	x = cJSON_GetObjectItemCaseSensitive(body, "body_text");
	r = mailer_template_put(t, key, cJSON_GetStringValue(s),
	                        cJSON_GetStringValue(h),
	                        cJSON_GetStringValue(x), &e);
	if (r == 0)
		fprintf(stderr, "rtrw-mailer: %s: %s\n",
		        e.field ? e.field : "key", e.message);
	return r < 0 ? 1 : r == 0 ? 3 : 0;
}

static int
cmd_settings(const struct config *cfg, struct db *db, const struct opts *o,
             const char *cmd, const char *arg)
{
	struct mail_smtp set;
	struct arena a;
	struct tdb *t;
	cJSON *out;
	int rc = 1, r;

	arena_init(&a, (size_t)cfg->arena_cap_bytes);
	t = tdb_open(db, &a, o->tenant);
	if (!t)
		goto out;
	if (strcmp(cmd, "smtp-show") == 0) {
		r = store_mail_smtp_get(t, &set);
		if (r < 0)
			goto out;
		if (r == 0) {
			puts("null");
			rc = 0;
			goto out;
		}
		out = row_json(&mail_smtp_row, &set);
		rc = out ? print_json(out) : 1;
		cJSON_Delete(out);
	} else if (strcmp(cmd, "smtp-delete") == 0) {
		r = store_mail_smtp_delete(t);
		if (r < 0)
			goto out;
		printf("%s\n", r ? "deleted" : "none");
		rc = 0;
	} else if (strcmp(cmd, "templates") == 0) {
		rc = print_templates(&a, t);
	} else if (strcmp(cmd, "smtp-set") == 0) {
		rc = set_smtp(cfg, t, o);
	} else {
		rc = set_template(&a, t, arg);
	}
out:
	if (rc == 1)
		log_error("mailer %s failed: the database did not answer", cmd);
	arena_release(&a);
	return rc;
}

static int
cmd_platform_notify(const struct config *cfg, struct db *db,
                    const struct opts *o, const char *key)
{
	const struct template_key *k = template_key_find(key);
	struct arena a;
	cJSON *payload;
	char *text;
	size_t n;
	int rc = 3, queued;

	if (!k) {
		fprintf(stderr, "rtrw-mailer: '%s' is not a template key\n",
		        key);
		return 3;
	}
	arena_init(&a, (size_t)cfg->arena_cap_bytes);
	text = read_stdin(64 * 1024, &n);
	if (!text || json_parse(&a, text, n, &payload) != JSON_OK ||
	    !cJSON_IsObject(payload)) {
		fprintf(stderr, "rtrw-mailer: standard input is not a JSON "
		                "object\n");
		goto out;
	}
	queued = notify_platform_admins(db, &a, key, payload, o->dedupe);
	if (queued < 0) {
		log_error("mailer platform-notify failed: the database did "
		          "not answer");
		rc = 1;
		goto out;
	}
	printf("queued %d\n", queued);
	rc = 0;
out:
	free(text);
	arena_release(&a);
	return rc;
}

static int
usage_error(const char *msg)
{
	if (msg)
		fprintf(stderr, "rtrw-mailer: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"tenant", required_argument, NULL, 'T'},
	    {"platform", no_argument, NULL, 'P'},
	    {"host", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"security", required_argument, NULL, 's'},
	    {"from", required_argument, NULL, 'f'},
	    {"from-name", required_argument, NULL, 'n'},
	    {"username", required_argument, NULL, 'u'},
	    {"password-stdin", no_argument, NULL, 'W'},
	    {"no-verify-tls", no_argument, NULL, 'V'},
	    {"dedupe", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	struct sigaction sa;
	struct config cfg;
	const char *cmd;
	struct db *db;
	char err[512];
	int c, rc, send, platform;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 'T':
			if (parse_int64(optarg, 1, INT64_MAX, &o.tenant) != 0)
				return usage_error("--tenant must be a "
				                   "tenant id");
			break;
		case 'P':
			o.platform = 1;
			break;
		case 'H':
			o.host = optarg;
			break;
		case 'p':
			if (parse_int64(optarg, 1, 65535, &o.port) != 0)
				return usage_error("--port must be 1..65535");
			break;
		case 's':
			o.security = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'n':
			o.from_name = optarg;
			break;
		case 'u':
			o.username = optarg;
			break;
		case 'W':
			o.password_stdin = 1;
			break;
		case 'V':
			o.no_verify = 1;
			break;
		case 'D':
			o.dedupe = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error(NULL);
		}
	}
	if (optind >= argc)
		return usage_error(NULL);
	cmd = argv[optind];
	send = strcmp(cmd, "run") == 0 || strcmp(cmd, "once") == 0;
	platform = strcmp(cmd, "platform-notify") == 0;
	if (send ? optind + 1 != argc || (o.tenant && o.platform)
	    : platform
	        ? optind + 2 != argc || o.tenant
	        : !o.tenant ||
	              optind + (strcmp(cmd, "template-set") == 0 ? 2 : 1) !=
	                  argc)
		return usage_error(NULL);
	if (!send && !platform && strcmp(cmd, "smtp-show") &&
	    strcmp(cmd, "smtp-set") && strcmp(cmd, "smtp-delete") &&
	    strcmp(cmd, "templates") && strcmp(cmd, "template-set"))
		return usage_error("unknown command");

	log_setup("rtrw-mailer", LOG_INFO);
	if (config_load(&cfg, o.config, err, sizeof(err)) < 0 ||
	    config_load_secrets(&cfg, err, sizeof(err)) < 0 ||
	    store_register(err, sizeof(err)) < 0) {
		log_error("mailer start failed: %s", err);
		config_wipe(&cfg);
		return 1;
	}
	log_setup("rtrw-mailer",
	          (enum log_level)log_level_parse(cfg.log_level));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (mail_global_init() < 0) {
		log_error("mailer start failed: libcurl did not initialise");
		config_wipe(&cfg);
		return 1;
	}
	db = db_open(&cfg, DB_ACCOUNT_APP, err, sizeof(err));
	if (!db) {
		log_error("mailer start failed: %s", err);
		rc = 1;
		goto out;
	}
	if (send)
		rc = cmd_send(&cfg, db, &o, strcmp(cmd, "run") == 0);
	else if (platform)
		rc = cmd_platform_notify(&cfg, db, &o, argv[optind + 1]);
	else
		rc = cmd_settings(&cfg, db, &o, cmd, argv[optind + 1]);
	db_close(db);
out:
	mail_global_cleanup();
	config_wipe(&cfg);
	return rc;
}
