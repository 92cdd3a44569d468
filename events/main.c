/*
 * rtrw-events: the WebSocket event daemon and its retention job.
 *
 *   rtrw-events [--config FILE] serve
 *   rtrw-events [--config FILE] [--days N] prune
 *
 * "serve" (the default) runs lib/wsd.c until SIGTERM or SIGINT
 * (systemd/rtrw-events.service).  "prune" deletes events older than
 * events_retention_days (or --days) and exits
 * (systemd/rtrw-events-prune.timer, daily); several may run at once.
 *
 * Exit status: 0 done, 1 failure (logged), 2 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "config.h"
#include "events.h"
#include "log.h"
#include "store/registry.h"
#include "tdb.h"
#include "util.h"
#include "wsd.h"

static const char usage_text[] =
    "usage: rtrw-events [--config FILE] [serve]\n"
    "       rtrw-events [--config FILE] [--days N] prune\n"
    "\n"
    "commands:\n"
    "  serve          run the WebSocket daemon (the default)\n"
    "  prune          delete events older than the retention and exit\n"
    "\n"
    "options:\n"
    "  --config FILE  configuration file (default $RTRW_CONFIG or\n"
    "                 " CONFIG_DEFAULT_PATH ")\n"
    "  --days N       retention in days for prune (1..3650, default\n"
    "                 events_retention_days)\n"
    "  -h, --help     show this text\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
	wsd_wake();
}

static int
serve(struct config *cfg)
{
	struct sigaction sa;
	char err[512];

	if (config_load_secrets(cfg, err, sizeof(err)) < 0) {
		log_error("event daemon start failed: %s", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return wsd_run(cfg, &stop) < 0 ? 1 : 0;
}

static int
prune(const struct config *cfg, int days)
{
	struct events_prune_totals tot;
	struct arena a;
	struct db *db;
	char err[256];
	int rc;

	db = db_open(cfg, DB_ACCOUNT_APP, err, sizeof(err));
	if (!db) {
		log_error("event retention start failed: %s", err);
		return 1;
	}
	arena_init(&a, (size_t)cfg->arena_cap_bytes);
	rc = events_prune(db, &a, days, time(NULL), &tot);
	log_info("events pruned: days=%d tenants=%ld deleted=%ld%s", days,
	         tot.tenants, tot.deleted, rc < 0 ? " (incomplete)" : "");
	arena_release(&a);
	db_close(db);
	return rc < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"days", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *cmd = "serve";
	int64_t days = 0;
	struct config cfg;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			if (parse_int64(optarg, 1, 3650, &days) != 0) {
				fprintf(stderr, "rtrw-events: --days must be "
				                "1..3650\n");
				return 2;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (optind != argc ||
	    (strcmp(cmd, "serve") != 0 && strcmp(cmd, "prune") != 0) ||
	    (days && strcmp(cmd, "prune") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	log_setup("rtrw-events", LOG_INFO);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		log_error("rtrw-events start failed: %s", err);
		return 1;
	}
	log_setup("rtrw-events",
	          (enum log_level)log_level_parse(cfg.log_level));
	if (store_register(err, sizeof(err)) < 0) {
		log_error("rtrw-events start failed: %s", err);
		return 1;
	}
	if (strcmp(cmd, "prune") == 0)
		rc = prune(&cfg, days ? (int)days : cfg.events_retention_days);
	else
		rc = serve(&cfg);
	config_wipe(&cfg);
	return rc;
}
