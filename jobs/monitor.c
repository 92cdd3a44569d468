/*
 * rtrw-monitor: periodic checks run from systemd timers.
 *
 *   rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]
 *                [--tenant ID] devices
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
 * Exit status: 0 when every device was checked and recorded, 1 when some
 * could not be recorded (the database went away), 2 for usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "devcheck.h"
#include "log.h"
#include "probe.h"
#include "store/device.h"
#include "store/registry.h"
#include "util.h"

#define PAGE_SIZE           500
#define DEFAULT_CONCURRENCY 64
#define DEFAULT_TIMEOUT_MS  2000

static const char usage_text[] =
    "usage: rtrw-monitor [--config FILE] [--concurrency N] [--timeout-ms N]\n"
    "                    [--tenant ID] devices\n"
    "\n"
    "commands:\n"
    "  devices            check every device of every tenant once\n"
    "\n"
    "options:\n"
    "  --config FILE      configuration file (default $RTRW_CONFIG or\n"
    "                     " CONFIG_DEFAULT_PATH ")\n"
    "  --concurrency N    probes in flight at once (1..512, default 64)\n"
    "  --timeout-ms N     limit of each probe step (100..30000, default\n"
    "                     2000)\n"
    "  --tenant ID        check the devices of this tenant only\n"
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"concurrency", required_argument, NULL, 'n'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"tenant", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	int64_t concurrency = DEFAULT_CONCURRENCY, timeout = DEFAULT_TIMEOUT_MS;
	int64_t tenant = 0;
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
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "devices") != 0) {
		fputs(usage_text, stderr);
		return 2;
	}
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
	rc = monitor_devices(&cfg, (size_t)concurrency, (int)timeout, tenant);
	config_wipe(&cfg);
	return rc;
}
