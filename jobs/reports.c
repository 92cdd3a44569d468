/*
 * rtrw-reports: builds the reports the API and the schedules queue
 * (lib/report.h), and removes them when their time is up.
 *
 *   rtrw-reports [--config FILE] serve
 *   rtrw-reports [--config FILE] run-once [--tenant ID] [--now INSTANT]
 *   rtrw-reports [--config FILE] expire [--tenant ID] [--now INSTANT]
 *
 * serve (systemd/rtrw-reports.service, a long-running service) loops
 * until SIGTERM or SIGINT: the schedules due now, then every queued
 * report one after the other, then a nap of reports_poll_ms when there
 * was nothing to do; retention runs once a minute.  Several services may
 * run, on one host or several: each report and each due schedule is
 * claimed with FOR UPDATE SKIP LOCKED, and a report whose service goes
 * silent for reports_lease_seconds is taken over.  A service, not a
 * timer, because a report asked for through the API should start within
 * a poll interval, not at the next timer tick.
 *
 * run-once does one round of all three and exits; expire only the
 * retention.  --now (RFC 3339 UTC or Unix seconds) replaces the clock of
 * the schedules and the retention (for tests and for catching up);
 * --tenant limits both to one tenant.  Prints one summary line; exits 1
 * when the database failed, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "billing.h"
#include "config.h"
#include "log.h"
#include "report.h"
#include "store/registry.h"
#include "tdb.h"
#include "util.h"

static const char usage_text[] =
    "usage: rtrw-reports [--config FILE] serve\n"
    "       rtrw-reports [--config FILE] run-once [--tenant ID] "
    "[--now INSTANT]\n"
    "       rtrw-reports [--config FILE] expire [--tenant ID] "
    "[--now INSTANT]\n";

#define EXPIRE_EVERY 60 /* seconds between retention passes of serve */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Sleeps ms milliseconds unless a signal comes first. */
static void
nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int
serve(struct report_service *s, const struct config *cfg)
{
	struct sigaction sa;
	time_t last_expire = 0;
	char err[512];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (db_prepare_all(s->db, err, sizeof(err)) < 0) {
		log_error("rtrw-reports refusing to start: %s", err);
		return 1;
	}
	log_info("rtrw-reports serving: dir '%s', retention %d days",
	         cfg->reports_dir, cfg->reports_retention_days);
	while (!stop) {
		time_t now = time(NULL);
		int worked = 0, rc = 0;

		if (report_run_schedules(s, now) < 0)
			log_warn("report schedules failed; retrying");
		while (!stop && (rc = report_run_one(s)) == 1)
			worked = 1;
		if (rc < 0)
			log_warn("report queue failed; retrying");
		if (now - last_expire >= EXPIRE_EVERY) {
			if (report_expire(s, now) < 0)
				log_warn("report retention failed; retrying");
			last_expire = now;
		}
		if (!worked && !stop)
			nap(cfg->reports_poll_ms);
	}
	log_info("rtrw-reports stopped: built=%" PRId64 " failed=%" PRId64
	         " scheduled=%" PRId64 " expired=%" PRId64,
	         s->built, s->failed, s->scheduled, s->expired);
	return 0;
}

static int
run_once(struct report_service *s, time_t now, int build)
{
	int failed = 0, rc;

	if (build) {
		if (report_run_schedules(s, now) < 0)
			failed = 1;
		while ((rc = report_run_one(s)) == 1)
			;
		if (rc < 0)
			failed = 1;
	}
	if (report_expire(s, now) < 0)
		failed = 1;
	return failed;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *config_path = opt(argc, argv, "--config");
	const char *tenant = opt(argc, argv, "--tenant");
	const char *now_s = opt(argc, argv, "--now");
	const char *cmd = NULL;
	struct report_service s;
	int64_t tid = 0, t0 = now_usec();
	time_t now = time(NULL);
	char err[512];
	int rc = 1, serving, expire_only;

	log_setup("rtrw-reports", LOG_INFO);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			i++; /* every option takes a value */
			continue;
		}
		if (cmd) {
			fputs(usage_text, stderr);
			return 2;
		}
		cmd = argv[i];
	}
	if (!cmd ||
	    (strcmp(cmd, "serve") != 0 && strcmp(cmd, "run-once") != 0 &&
	     strcmp(cmd, "expire") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	serving = strcmp(cmd, "serve") == 0;
	expire_only = strcmp(cmd, "expire") == 0;
	if ((tenant && parse_int64(tenant, 1, INT64_MAX, &tid) < 0) ||
	    (now_s && billing_parse_instant(now_s, &now) < 0) ||
	    (serving && (tenant || now_s))) {
		fprintf(stderr, "rtrw-reports: bad --tenant or --now\n");
		fputs(usage_text, stderr);
		return 2;
	}
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-reports: %s\n", err);
		return 1;
	}
	log_setup("rtrw-reports",
	          (enum log_level)log_level_parse(cfg.log_level));
	/*
	 * The emailed links need the address users reach the API at; a
	 * service without it would send links that lead nowhere.
	 */
	if (!expire_only && !cfg.public_url[0]) {
		log_error("rtrw-reports refusing to start: public_url is not "
		          "set (the base URL of the emailed report links)");
		goto out;
	}
	if (mkdir(cfg.reports_dir, 0700) < 0 && errno != EEXIST) {
		log_error("rtrw-reports refusing to start: reports_dir '%s' "
		          "cannot be made",
		          cfg.reports_dir);
		goto out;
	}
	if (store_register(err, sizeof(err)) < 0) {
		log_error("rtrw-reports start failed: %s", err);
		goto out;
	}
	if (report_service_init(&s, &cfg, tid, err, sizeof(err)) < 0) {
		log_error("rtrw-reports start failed: %s", err);
		report_service_release(&s);
		goto out;
	}
	if (serving) {
		rc = serve(&s, &cfg);
	} else {
		rc = run_once(&s, now, !expire_only);
		printf("rtrw-reports %s: scheduled=%" PRId64 " built=%" PRId64
		       " failed=%" PRId64 " expired=%" PRId64
		       " errors=%d seconds=%.3f\n",
		       cmd, s.scheduled, s.built, s.failed, s.expired, rc,
		       (double)(now_usec() - t0) / 1e6);
	}
	report_service_release(&s);
out:
	config_wipe(&cfg);
	return rc;
}
