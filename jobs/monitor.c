/*
 * rtrw-monitor: periodic checks run from systemd timers.
 *
 *   rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]
 *                [--tenant ID] devices
 *   rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]
 *                [--tenant ID] [--gap-ms N] [--deadline-ms N]
 *                [--now INSTANT] usage
 *
 * "devices" checks every live device of every active tenant: the probes
 * of a page of devices run in parallel (lib/probe.c, one poll() loop, at
 * most --concurrency in flight), then each result is recorded in its
 * tenant through store_device_record_check(), exactly as POST
 * /devices/{id}/check does: status, last_seen, and on a change the
 * device:status event, the device_offline alert and the admins' email.
 * Runs once and exits; systemd/rtrw-monitor-devices.timer repeats it.
 * --tenant limits the run to one tenant (through its tenant-scoped
 * handle), for support work and for the end-to-end tests.
 *
 * "usage" runs one usage collection cycle (lib/collect.h): every live
 * router of every active tenant polled once, at most --concurrency at a
 * time, each step of each router within --timeout-ms; the readings
 * stored as deltas in the four usage levels, router status and alerts
 * recorded, the monitoring:update events written, the usage partitions
 * kept and deleted tenants' rows purged.  systemd/rtrw-monitor-usage.timer
 * runs it every minute.  A router claimed by another collector less than
 * --gap-ms ago (default 50 s: most of a cycle) is left to it; no router
 * is claimed after --deadline-ms (default 50 s), so that a cycle ends
 * before the next begins.  --now (RFC 3339 UTC or Unix seconds) replaces
 * the clock of buckets, months and partitions, for tests.  The last line
 * says what the cycle did.
 *
 * Exit status: 0 when every device was checked and recorded (every
 * claimed router's result stored), 1 when some could not be recorded
 * (the database went away), 2 for usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "billing.h"
#include "collect.h"
#include "config.h"
#include "devcheck.h"
#include "log.h"
#include "probe.h"
#include "store/device.h"
#include "store/registry.h"
#include "usage.h"
#include "util.h"

#define PAGE_SIZE           500
#define DEFAULT_CONCURRENCY 64
#define DEFAULT_TIMEOUT_MS  2000
/* usage: fewer, longer exchanges (a print of thousands of sessions). */
#define USAGE_CONCURRENCY 32
#define USAGE_TIMEOUT_MS  5000
#define USAGE_GAP_MS      50000
#define USAGE_DEADLINE_MS 50000

static const char usage_text[] =
    "usage: rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]\n"
    "                    [--tenant ID] devices\n"
    "       rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]\n"
    "                    [--tenant ID] [--gap-ms N] [--deadline-ms N]\n"
    "                    [--now INSTANT] usage\n"
    "\n"
    "commands:\n"
    "  devices            check every device of every tenant once\n"
    "  usage              read every router's sessions once and store the\n"
    "                     usage (one collection cycle)\n"
    "\n"
    "options:\n"
    "  --config FILE      configuration file (default $RTRW_CONFIG or\n"
    "                     " CONFIG_DEFAULT_PATH ")\n"
    "  --concurrency N    probes or routers in flight at once (1..512,\n"
    "                     default 64 devices, 32 routers)\n"
    "  --timeout-ms N     limit of each probe or router step (100..30000,\n"
    "                     default 2000 devices, 5000 routers)\n"
    "  --tenant ID        this tenant only\n"
    "  --gap-ms N         usage: leave a router claimed less than N ms ago\n"
    "                     to its collector (0..3600000, default 50000)\n"
    "  --deadline-ms N    usage: claim no router after N ms (1..3600000,\n"
    "                     default 50000)\n"
    "  --now INSTANT      usage: the clock of buckets and partitions\n"
    "                     (YYYY-MM-DDTHH:MM:SSZ or Unix seconds), for tests\n"
    "  -h, --help         show this text\n";

struct totals {
	long checked, online, offline, unknown, failed;
};

/* Probes one page of devices and records the results; 0 or -1. */
static int
check_page(struct db *db, struct arena *a, const struct rows *page,
           size_t concurrency, int timeout_ms, struct totals *tot)
{
	struct probe_target *t = xcalloc(page->n + 1, sizeof(*t));
	int rc = 0;

	for (size_t i = 0; i < page->n; i++) {
		const struct device_target *d = rows_at(page, i);

		t[i].host = d->ip_address;
		t[i].port = (int)d->port;
	}
	if (probe_run(t, page->n, concurrency, timeout_ms) < 0)
		log_warn("device probes failed: poll error; the rest of the "
		         "page stays unknown");
	for (size_t i = 0; i < page->n; i++) {
		const struct device_target *d = rows_at(page, i);
		int64_t id = d->id, tid = d->tenant_id;
		enum device_state st =
		    t[i].verdict == PROBE_ONLINE    ? DEVICE_ONLINE
		    : t[i].verdict == PROBE_OFFLINE ? DEVICE_OFFLINE
		                                    : DEVICE_UNKNOWN;
		struct tdb *tdb = tdb_open(db, a, tid);
		cJSON *probe = cJSON_CreateObject();

		if (!tdb || !probe) {
			cJSON_Delete(probe);
			tot->failed++;
			rc = -1;
			continue;
		}
		cJSON_AddStringToObject(probe, "icmp",
		                        probe_icmp_name(t[i].icmp));
		cJSON_AddStringToObject(probe, "tcp", probe_tcp_name(t[i].tcp));
		cJSON_AddStringToObject(probe, "by", "rtrw-monitor");
		if (devcheck_record(tdb, id, st, 0, NULL, "rtrw-monitor", probe,
		                    NULL) < 0) {
			log_error("device check not recorded: tenant %" PRId64
			          " device %" PRId64,
			          tid, id);
			tot->failed++;
			rc = -1;
		} else {
			tot->checked++;
			if (st == DEVICE_ONLINE)
				tot->online++;
			else if (st == DEVICE_OFFLINE)
				tot->offline++;
			else
				tot->unknown++;
		}
		cJSON_Delete(probe);
	}
	free(t);
	return rc;
}

static int
monitor_devices(const struct config *cfg, size_t concurrency, int timeout_ms,
                int64_t tenant)
{
	struct totals tot = {0, 0, 0, 0, 0};
	struct arena a;
	struct db *db;
	int64_t last = 0;
	char err[256];
	int rc = 0;

	db = db_open(cfg, 0, err, sizeof(err));
	if (!db) {
		log_error("monitor start failed: %s", err);
		return 1;
	}
	arena_init(&a, (size_t)cfg->arena_cap_bytes);
	for (;;) {
		struct rows page;
		struct tdb *t = tenant ? tdb_open(db, &a, tenant) : NULL;
		int q;

		if (tenant)
			q = t ? store_device_live(t, last, PAGE_SIZE, &page)
			      : -1;
		else
			q = store_device_all_live(db, &a, last, PAGE_SIZE,
			                          &page);
		if (q < 0) {
			log_error("device list failed: the database did not "
			          "answer");
			rc = 1;
			break;
		}
		if (page.n == 0)
			break;
		last =
		    ((const struct device_target *)rows_at(&page, page.n - 1))
		        ->id;
		if (check_page(db, &a, &page, concurrency, timeout_ms, &tot) <
		    0)
			rc = 1;
		arena_reset(&a);
		if (page.n < PAGE_SIZE)
			break;
	}
	log_info("devices checked=%ld online=%ld offline=%ld unknown=%ld "
	         "failed=%ld",
	         tot.checked, tot.online, tot.offline, tot.unknown, tot.failed);
	arena_release(&a);
	db_close(db);
	return rc;
}

static int
monitor_usage(const struct config *cfg, struct collect_opts *o)
{
	struct collect_totals tot;
	char host[128] = "", owner[160];
	int rc;

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "unknown");
	snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
	o->owner = owner;
	rc = collect_usage(cfg, o, &tot);
	if (rc < 0)
		return 1;
	log_info("usage routers=%ld claimed=%ld skipped=%ld online=%ld "
	         "offline=%ld sessions=%ld matched=%ld samples=%ld "
	         "baseline=%ld new_session=%ld reset=%ld wrap=%ld spike=%ld "
	         "rows=%ld alerts_raised=%ld alerts_resolved=%ld failed=%ld "
	         "poll_ms=%" PRId64 " store_ms=%" PRId64 " wall_ms=%" PRId64,
	         tot.routers, tot.claimed, tot.skipped, tot.online, tot.offline,
	         tot.sessions, tot.matched, tot.samples,
	         tot.kinds[USAGE_BASELINE], tot.kinds[USAGE_NEW_SESSION],
	         tot.kinds[USAGE_RESET], tot.kinds[USAGE_WRAP],
	         tot.kinds[USAGE_SPIKE], tot.rows, tot.alerts_raised,
	         tot.alerts_resolved, tot.failed, tot.poll_us / 1000,
	         tot.store_us / 1000, tot.wall_us / 1000);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"concurrency", required_argument, NULL, 'n'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"tenant", required_argument, NULL, 'T'},
	    {"gap-ms", required_argument, NULL, 'g'},
	    {"deadline-ms", required_argument, NULL, 'd'},
	    {"now", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	int64_t concurrency = 0, timeout = 0, tenant = 0;
	int64_t gap = USAGE_GAP_MS, deadline = USAGE_DEADLINE_MS;
	time_t now = 0;
	int usage;
	struct config cfg;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			if (parse_int64(optarg, 1, 512, &concurrency) != 0) {
				fprintf(stderr, "rtrw-monitor: --concurrency "
				                "must be 1..512\n");
				return 2;
			}
			break;
		case 't':
			if (parse_int64(optarg, 100, 30000, &timeout) != 0) {
				fprintf(stderr, "rtrw-monitor: --timeout-ms "
				                "must be 100..30000\n");
				return 2;
			}
			break;
		case 'T':
			if (parse_int64(optarg, 1, INT64_MAX, &tenant) != 0) {
				fprintf(stderr,
				        "rtrw-monitor: --tenant must be "
				        "a tenant id\n");
				return 2;
			}
			break;
		case 'g':
			if (parse_int64(optarg, 0, 3600000, &gap) != 0) {
				fprintf(stderr,
				        "rtrw-monitor: --gap-ms must be "
				        "0..3600000\n");
				return 2;
			}
			break;
		case 'd':
			if (parse_int64(optarg, 1, 3600000, &deadline) != 0) {
				fprintf(stderr, "rtrw-monitor: --deadline-ms "
				                "must be 1..3600000\n");
				return 2;
			}
			break;
		case 'N':
			if (billing_parse_instant(optarg, &now) != 0 ||
			    now <= 0) {
				fprintf(stderr, "rtrw-monitor: --now must be "
				                "YYYY-MM-DDTHH:MM:SSZ or Unix "
				                "seconds\n");
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
	if (optind != argc - 1 || (strcmp(argv[optind], "devices") != 0 &&
	                           strcmp(argv[optind], "usage") != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	usage = strcmp(argv[optind], "usage") == 0;
	if (!concurrency)
		concurrency = usage ? USAGE_CONCURRENCY : DEFAULT_CONCURRENCY;
	if (!timeout)
		timeout = usage ? USAGE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS;
	log_setup("rtrw-monitor", LOG_INFO);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		log_error("monitor start failed: %s", err);
		return 1;
	}
	log_setup("rtrw-monitor",
	          (enum log_level)log_level_parse(cfg.log_level));
	if (store_register(err, sizeof(err)) < 0) {
		log_error("monitor start failed: %s", err);
		return 1;
	}
	if (usage) {
		struct collect_opts o = {
		    .concurrency = (size_t)concurrency,
		    .connect_ms = (int)timeout,
		    .read_ms = (int)timeout,
		    .gap_ms = gap,
		    .deadline_ms = deadline,
		    .tenant = tenant,
		    .now = now,
		    .maintenance = 1,
		};

		if (config_load_secrets(&cfg, err, sizeof(err)) < 0) {
			log_error("monitor start failed: %s", err);
			config_wipe(&cfg);
			return 1;
		}
		rc = monitor_usage(&cfg, &o);
	} else {
		rc = monitor_devices(&cfg, (size_t)concurrency, (int)timeout,
		                     tenant);
	}
	config_wipe(&cfg);
	return rc;
}
