/*
 * rtrw-boost: the speed boost job, run every minute by a systemd timer.
 *
 *   rtrw-boost [--config FILE] expire [--tenant ID] [--now INSTANT]
 *   rtrw-boost [--config FILE] plan --tenant ID --customer ID [--now INSTANT]
 *
 * expire: every active boost whose end_at is at or before now becomes
 * expired, each in its own transaction: the boost row is locked, then
 * its customer (the order of every boost writer, lib/store/boost.h), the
 * status is checked again (a cancel may have come first), and the change
 * is audited (user "rtrw-boost"), announced (speed_boost:updated) and,
 * when it alters what the customer should run at, followed by a
 * change_profile provisioning job (store_boost_queue_change()).  A
 * boost past end_at already no longer counts for the effective plan, so
 * a late run changes no speed on its own; it only tells the router.
 * After the run, when it queued jobs, rtrw-provision is nudged once.
 *
 * Running it twice at once, or on several hosts, expires each boost
 * once: the second run waits for the row lock and then finds it
 * expired.  A run that fails on one boost goes on with the others and
 * exits 1; the next run retries.
 *
 * plan: prints the plan customer ID of tenant ID should run at (the
 * fastest active boost's, or its own; store_boost_effective_plan()), the
 * question the provisioning daemon asks before it applies a profile: for
 * an operator who wonders what the router ought to show, and for tests.
 *
 * --now (RFC 3339 UTC or Unix seconds) replaces the clock, for tests and
 * for catching up; the effective plans are then judged at that moment
 * too.  --tenant limits the run to one tenant.  Prints one summary line;
 * exits 1 when anything failed (plan: an unknown customer), 2 on bad
 * usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "audit.h"
#include "billing.h"
#include "config.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "nudge.h"
#include "row.h"
#include "store/boost.h"
#include "store/customer.h"
#include "store/registry.h"
#include "tdb.h"
#include "util.h"

#define DUE_BATCH    200
#define LOCK_RETRIES 3

struct run {
	struct db *db;
	struct arena work; /* one boost's transaction */
	struct arena list; /* one batch of due boosts */
	int64_t tenant;    /* --tenant, or 0 */
	char now[24];      /* "YYYY-MM-DD HH:MM:SS" UTC */
	int64_t expired, jobs, failed;
};

static int
usage(void)
{
	fprintf(stderr,
	        "usage: rtrw-boost [--config FILE] expire [--tenant ID] "
	        "[--now INSTANT]\n"
	        "       rtrw-boost [--config FILE] plan --tenant ID "
	        "--customer ID [--now INSTANT]\n");
	return 2;
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* The audit entry and the event of one expiry; 0 or -1. */
static int
record(struct tdb *t, struct arena *a, const struct boost *before,
       const struct boost *after)
{
	cJSON *old = json_own(a, row_json(&boost_row, before));
	cJSON *new = json_own(a, row_json(&boost_row, after));
	struct audit_entry e;

	if (!old || !new)
		return -1;
	memset(&e, 0, sizeof(e));
	e.action = "expire";
	e.entity_type = "speed_boost";
	e.entity_id = after->id;
	e.old_values = old;
	e.new_values = new;
	e.user_agent = "rtrw-boost";
	if (audit_write(t, &e) < 0)
		return -1;
	return event_emit(t, "speed_boost:updated", "speed_boost", after->id,
	                  new);
}

/*
 * Expires one due boost in its own transaction.  1 expired, 0 nothing to
 * do (cancelled or expired meanwhile), -1 error (rolled back); *queued
 * says whether a provisioning job was written.
 */
static int
expire_one(struct run *run, const struct boost_due *due, int *queued)
{
	struct boost before, after;
	enum db_error err;
	struct customer c;
	struct tdb *t;
	int rc;

	*queued = 0;
	for (int attempt = 0; attempt < LOCK_RETRIES; attempt++) {
		arena_reset(&run->work);
		t = tdb_open(run->db, &run->work, due->tenant_id);
		if (!t || tdb_begin(t) < 0)
			return -1;
		rc = store_boost_lock(t, due->id, &before);
		if (rc < 0)
			goto out_retry;
		if (rc == 0)
			goto out_done;
		/* A cancel or another run may have come first. */
		if (strcmp(before.status, "active") != 0 || !before.end_at ||
		    strcmp(before.end_at, run->now) > 0) {
			rc = 0;
			goto out_done;
		}
		rc = store_customer_lock(t, before.customer_id, &c);
		if (rc < 0)
			goto out_retry;
		if (store_boost_expire(t, due->id) != 1 ||
		    store_boost_get(t, due->id, &after) != 1)
			goto out_retry;
		if (rc == 1) {
			rc = store_boost_queue_change(t, &before, &c, run->now,
			                              "boost_expired");
			if (rc < 0)
				goto out_retry;
			*queued = rc;
		}
		if (record(t, &run->work, &before, &after) < 0 ||
		    tdb_commit(t) < 0)
			goto out_retry;
		return 1;
	out_done:
		tdb_rollback(t);
		return rc;
	out_retry:
		/* The rollback resets the error: read it first. */
		err = tdb_last_error(t);
		tdb_rollback(t);
		*queued = 0;
		if (err != DBE_LOCK)
			return -1;
	}
	return -1;
}

/* One batch of due boosts after id *after; the number read, or -1. */
static long
due_batch(struct run *run, int64_t *after, struct rows *out)
{
	struct tdb *t;

	arena_reset(&run->list);
	if (run->tenant) {
		t = tdb_open(run->db, &run->list, run->tenant);
		if (!t || store_boost_due_tenant(t, run->now, *after, DUE_BATCH,
		                                 out) < 0)
			return -1;
	} else if (store_boost_due(run->db, &run->list, run->now, *after,
	                           DUE_BATCH, out) < 0) {
		return -1;
	}
	return (long)out->n;
}

static int
expire(struct run *run)
{
	int64_t after = 0;
	struct rows due;
	long n;

	do {
		n = due_batch(run, &after, &due);
		if (n < 0) {
			log_error("expire: cannot list due boosts");
			run->failed++;
			return -1;
		}
		for (long i = 0; i < n; i++) {
			const struct boost_due *d = rows_at(&due, (size_t)i);
			int queued, rc = expire_one(run, d, &queued);

			after = d->id;
			if (rc < 0) {
				log_error("expire failed for boost %" PRId64
				          " of tenant %" PRId64,
				          d->id, d->tenant_id);
				run->failed++;
			} else {
				run->expired += rc;
				run->jobs += queued;
			}
		}
	} while (n == DUE_BATCH);
	return 0;
}

/* The plan subcommand; 0, or 1 when the customer is unknown or on error. */
static int
plan(struct run *run, int64_t customer, int clock_given)
{
	struct tdb *t = tdb_open(run->db, &run->work, run->tenant);
	int64_t plan_id;
	int rc;

	if (!t)
		return 1;
	rc = store_boost_plan_with(t, customer, 0, 0,
	                           clock_given ? run->now : NULL, &plan_id);
	if (rc < 0) {
		fprintf(stderr, "rtrw-boost plan: database error\n");
		return 1;
	}
	if (rc == 0) {
		fprintf(stderr,
		        "rtrw-boost plan: no customer %" PRId64
		        " in tenant %" PRId64 "\n",
		        customer, run->tenant);
		return 1;
	}
	printf("rtrw-boost plan: customer=%" PRId64 " plan=%" PRId64 "\n",
	       customer, plan_id);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *config_path = opt(argc, argv, "--config");
	const char *cmd = NULL, *tenant = opt(argc, argv, "--tenant");
	const char *now_s = opt(argc, argv, "--now");
	const char *customer_s = opt(argc, argv, "--customer");
	int64_t t0 = now_usec(), customer = 0;
	struct run run;
	struct tm tm;
	time_t now;
	char err[256];

	log_setup("rtrw-boost", LOG_WARN);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			if (strcmp(argv[i], "--config") != 0 &&
			    strcmp(argv[i], "--tenant") != 0 &&
			    strcmp(argv[i], "--customer") != 0 &&
			    strcmp(argv[i], "--now") != 0)
				return usage();
			if (++i >= argc) /* every option takes a value */
				return usage();
			continue;
		}
		if (cmd)
			return usage();
		cmd = argv[i];
	}
	if (!cmd || (strcmp(cmd, "expire") != 0 && strcmp(cmd, "plan") != 0))
		return usage();
	/* plan needs its customer and tenant; expire takes no customer. */
	if (strcmp(cmd, "plan") == 0
	        ? !tenant || !customer_s ||
	              parse_int64(customer_s, 1, INT64_MAX, &customer) < 0
	        : customer_s != NULL)
		return usage();
	memset(&run, 0, sizeof(run));
	now = time(NULL);
	if ((tenant && parse_int64(tenant, 1, INT64_MAX, &run.tenant) < 0) ||
	    (now_s && billing_parse_instant(now_s, &now) < 0) ||
	    !gmtime_r(&now, &tm) || tm.tm_year + 1900 > 9999) {
		fprintf(stderr, "rtrw-boost: bad --tenant or --now\n");
		return usage();
	}
	strftime(run.now, sizeof(run.now), "%Y-%m-%d %H:%M:%S", &tm);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0 ||
	    store_register(err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-boost: %s\n", err);
		return 1;
	}
	run.db = db_open(&cfg, DB_ACCOUNT_APP, err, sizeof(err));
	if (!run.db) {
		fprintf(stderr, "rtrw-boost: %s\n", err);
		config_wipe(&cfg);
		return 1;
	}
	arena_init(&run.work, 16L * 1024 * 1024);
	arena_init(&run.list, 16L * 1024 * 1024);
	if (customer) {
		run.failed = plan(&run, customer, now_s != NULL);
	} else {
		expire(&run);
		/* One nudge for every job the run queued (lib/nudge.h). */
		if (run.jobs > 0)
			nudge_send(&cfg);
		printf("rtrw-boost expire: expired=%" PRId64 " jobs=%" PRId64
		       " failed=%" PRId64 " seconds=%.3f\n",
		       run.expired, run.jobs, run.failed,
		       (double)(now_usec() - t0) / 1e6);
	}
	arena_release(&run.list);
	arena_release(&run.work);
	db_close(run.db);
	config_wipe(&cfg);
	return run.failed ? 1 : 0;
}
