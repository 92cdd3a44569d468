/*
 * rtrw-provision: applies provisioning jobs to the tenants' MikroTik
 * routers, and reconciles them.
 *
 *   rtrw-provision [--config FILE] run       the daemon (systemd service)
 *   rtrw-provision [--config FILE] once      rounds until nothing is due
 *   rtrw-provision [--config FILE] [--tenant ID] sync
 *                                            reconcile every router once
 *
 * "run" hands every router with due jobs to one of provision_workers
 * threads (lib/provision_pool.h: one leased pass each, routers in
 * parallel, so a router that does not answer delays no other), looks
 * again when a pass ended with work done, and otherwise after a nudge
 * from the API (lib/nudge.h) or provision_poll_ms, whichever comes
 * first.  "once" runs rounds one router after another until nothing is
 * due.  Any number of daemons may run on any number of hosts: the
 * routers' leases keep them apart.  SIGTERM and SIGINT end it after the
 * passes in progress (a pass is bounded by the routers' timeouts; a
 * daemon killed in the middle leaves its jobs running under a lease that
 * expires in two minutes, and then another daemon takes them).
 *
 * "sync" is what systemd/rtrw-provision-sync.timer runs: POST
 * /routers/{id}/sync for every live router of every active tenant (or of
 * --tenant), repairing drift; a router that is down is logged and
 * skipped.
 *
 * Exit status: 0 fine, 1 when the database failed (or a sync failed), 2
 * for usage errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "log.h"
#include "nudge.h"
#include "provision.h"
#include "provision_pool.h"
#include "store/registry.h"
#include "store/router.h"
#include "util.h"

static const char usage_text[] =
    "usage: rtrw-provision [--config FILE] [--tenant ID] run|once|sync\n"
    "\n"
    "commands:\n"
    "  run           apply jobs as they come (the daemon)\n"
    "  once          apply what is due, then exit\n"
    "  sync          reconcile every router once\n"
    "\n"
    "options:\n"
    "  --config FILE configuration file (default $RTRW_CONFIG or\n"
    "                " CONFIG_DEFAULT_PATH ")\n"
    "  --tenant ID   sync: the routers of this tenant only\n"
    "  -h, --help    show this text\n";

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* "once": rounds, one router after another, until nothing is due. */
static int
run_once(struct provisioner *pv)
{
	int n;

	while (!stopping) {
		n = provision_round(pv);
		if (n < 0)
			return 1;
		if (n == 0)
			break;
	}
	return 0;
}

/* "run": the daemon; passes of different routers run in parallel. */
static int
run_forever(struct provisioner *pv)
{
	char err[256];
	int fd, rc;

	fd = nudge_listen(pv->cfg, err, sizeof(err));
	if (fd < 0)
		log_warn("nudges off, polling every %d ms: %s",
		         pv->cfg->provision_poll_ms, err);
	log_info("provisioning started: owner %s, poll %d ms, %d workers",
	         pv->owner, pv->cfg->provision_poll_ms,
	         pv->cfg->provision_workers);
	rc =
	    provision_pool_serve(pv->cfg, pv->db, pv->owner, fd, &stopping, pv);
	if (fd >= 0)
		close(fd);
	log_info("provisioning stopped: passes=%ld done=%ld retried=%ld "
	         "failed=%ld router_failures=%ld",
	         pv->passes, pv->jobs_done, pv->jobs_retried, pv->jobs_failed,
	         pv->router_failures);
	return rc < 0 ? 1 : 0;
}

static int
sync_all(struct provisioner *pv, int64_t tenant)
{
	struct arena a;
	int64_t last = 0;
	long synced = 0, changes = 0, failed = 0;
	int rc = 0;

	arena_init(&a, 256L * 1024 * 1024);
	for (;;) {
		struct rows page;

		if (store_router_all_live(pv->db, &a, last, 200, &page) < 0) {
			log_error("router list failed: the database did not "
			          "answer");
			rc = 1;
			break;
		}
		for (size_t i = 0; i < page.n; i++) {
			const struct router_ref *ref = rows_at(&page, i);
			struct arena one;
			struct tdb *t;
			struct ros_error err;
			enum provision_status st;
			cJSON *ch = cJSON_CreateArray();

			last = ref->id;
			if (tenant && ref->tenant_id != tenant) {
				cJSON_Delete(ch);
				continue;
			}
			arena_init(&one, 256L * 1024 * 1024);
			t = tdb_open(pv->db, &one, ref->tenant_id);
			st = t && ch ? provision_sync(pv->cfg, t, &one, ref->id,
			                              0, pv->owner, ch, &err)
			             : PROVISION_ERROR;
			if (st == PROVISION_OK) {
				synced++;
				changes += cJSON_GetArraySize(ch);
			} else if (st == PROVISION_ROUTER) {
				log_warn("router %" PRId64 " of tenant %" PRId64
				         " not synced: %s: %s",
				         ref->id, ref->tenant_id,
				         ros_code_name(err.code), err.message);
				failed++;
			} else if (st == PROVISION_ERROR) {
				failed++;
				rc = 1;
			}
			cJSON_Delete(ch);
			arena_release(&one);
		}
		arena_reset(&a);
		if (page.n < 200)
			break;
	}
	arena_release(&a);
	log_info("routers synced=%ld changes=%ld failed=%ld", synced, changes,
	         failed);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"tenant", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *cmd;
	struct provisioner pv = {0};
	struct sigaction sa;
	struct config cfg;
	int64_t tenant = 0;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'T':
			if (parse_int64(optarg, 1, INT64_MAX, &tenant) != 0) {
				fprintf(stderr, "rtrw-provision: --tenant must "
				                "be a tenant id\n");
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
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "once") != 0 &&
	    strcmp(cmd, "sync") != 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	log_setup("rtrw-provision", LOG_INFO);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0 ||
	    config_load_secrets(&cfg, err, sizeof(err)) < 0) {
		log_error("provisioning start failed: %s", err);
		return 1;
	}
	log_setup("rtrw-provision",
	          (enum log_level)log_level_parse(cfg.log_level));
	if (store_register(err, sizeof(err)) < 0) {
		log_error("provisioning start failed: %s", err);
		config_wipe(&cfg);
		return 1;
	}
	pv.cfg = &cfg;
	pv.db = db_open(&cfg, DB_ACCOUNT_APP, err, sizeof(err));
	if (!pv.db) {
		log_error("provisioning start failed: %s", err);
		config_wipe(&cfg);
		return 1;
	}
	provision_owner(pv.owner, sizeof(pv.owner));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "sync") == 0)
		rc = sync_all(&pv, tenant);
	else
		rc = strcmp(cmd, "run") == 0 ? run_forever(&pv) : run_once(&pv);
	db_close(pv.db);
	config_wipe(&cfg);
	return rc;
}
