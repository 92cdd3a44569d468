/*
 * rtrw-billing: the billing jobs, run by systemd timers.
 *
 *   rtrw-billing [--config FILE] invoices [--tenant ID] [--period YYYY-MM]
 *                                         [--now INSTANT]
 *   rtrw-billing [--config FILE] overdue  [--tenant ID] [--now INSTANT]
 *
 * invoices: one pending payment per active customer for the period (by
 * default the current month in each tenant's time zone) at the
 * customer's monthly_price, due on the billing day.  Running it again,
 * or twice at once on several hosts, creates nothing new: the unique key
 * (tenant_id, invoice_customer_id, period) decides, and INSERT IGNORE
 * skips what exists.  One audit entry per tenant and run summarises what
 * was created (one entry per invoice would double the job's writes), but
 * every invoice created gets its payment:created event, with the row, in
 * the same transaction: WebSocket clients must see each new payment.
 *
 * overdue: pending payments whose due_date is before today in the
 * tenant's time zone become overdue, in batches locked FOR UPDATE SKIP
 * LOCKED, so concurrent runs share the rows instead of doing them twice.
 * Each change is audited, emits payment:updated with the changed row and
 * queues the payment_overdue notification (to the customer's email when
 * there is one, else to the tenant's admins), idempotent by the dedupe
 * key payment_overdue:<payment id>.
 *
 * --now (RFC 3339 UTC or Unix seconds) replaces the clock, for tests and
 * for catching up.  Prints one summary line; exits 1 when anything
 * failed, 2 on bad usage.
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
#include "notify.h"
#include "store/customer.h"
#include "store/payment.h"
#include "store/registry.h"
#include "tdb.h"
#include "util.h"

#define OVERDUE_BATCH 500
#define LOCK_RETRIES  3

struct run {
	struct db *db;
	struct arena work;
	const char *period; /* --period, or NULL */
	time_t now;
	int64_t tenants, done, failed;
};

static int
usage(void)
{
	fprintf(stderr,
	        "usage: rtrw-billing [--config FILE] invoices [--tenant ID] "
	        "[--period YYYY-MM] [--now INSTANT]\n"
	        "       rtrw-billing [--config FILE] overdue [--tenant ID] "
	        "[--now INSTANT]\n");
	return 2;
}

static int
job_audit(struct tdb *t, const char *action, int64_t id, const cJSON *old,
          const cJSON *new)
{
	struct audit_entry e;

	memset(&e, 0, sizeof(e));
	e.action = action;
	e.entity_type = "payment";
	e.entity_id = id;
	e.old_values = old;
	e.new_values = new;
	e.user_agent = "rtrw-billing";
	return audit_write(t, &e);
}

/*
 * Emits event name about payment p in the caller's transaction.  The JSON
 * is freed at once: an invoice run emits one per customer, and the run's
 * arena would otherwise hold them all until the commit.
 */
static int
payment_event(struct tdb *t, const char *name, const struct payment *p)
{
	cJSON *data = row_json(&payment_row, p);
	int rc;

	if (!data)
		return -1;
	rc = event_emit(t, name, "payment", p->id, data);
	cJSON_Delete(data);
	return rc;
}

/* Each invoice the run created: its payment:created event. */
static int
invoice_created(void *ctx, struct tdb *t, const struct payment *p)
{
	(void)ctx;
	return payment_event(t, "payment:created", p);
}

/* Invoices of one tenant; returns the number created, or -1. */
static int64_t
invoices_tenant(struct run *run, int64_t tid, const char *tz)
{
	char today[BILLING_DATE_LEN], period[BILLING_PERIOD_LEN];
	char first[BILLING_DATE_LEN];
	struct tdb *t;
	cJSON *summary;
	int64_t created;
	int y, m;

	if (run->period)
		snprintf(period, sizeof(period), "%s", run->period);
	else if (billing_today(tz, run->now, today) < 0 ||
	         billing_period_of(today, period) < 0)
		return -1;
	if (billing_period_parse(period, &y, &m) < 0)
		return -1;
	billing_date_format(y, m, 1, first);
	for (int attempt = 0; attempt < LOCK_RETRIES; attempt++) {
		arena_reset(&run->work);
		t = tdb_open(run->db, &run->work, tid);
		if (!t || tdb_begin(t) < 0)
			return -1;
		if (store_payment_invoice_run(
		        t, period, first, billing_days_in_month(y, m),
		        invoice_created, NULL, &created) < 0)
			goto out_retry;
		if (created > 0) {
			summary = json_own(&run->work, cJSON_CreateObject());
			cJSON_AddStringToObject(summary, "job", "invoices");
			cJSON_AddStringToObject(summary, "period", period);
			json_add_int(summary, "created", created);
			if (job_audit(t, "create", 0, NULL, summary) < 0)
				goto out_retry;
		}
		if (tdb_commit(t) < 0)
			goto out_retry;
		return created;
	out_retry:
		tdb_rollback(t);
		if (tdb_last_error(t) != DBE_LOCK)
			return -1;
	}
	return -1;
}

/* Marks one picked payment overdue and queues its notice; 1, 0 or -1. */
static int
overdue_one(struct run *run, struct tdb *t, const struct payment_due *due)
{
	int64_t id = due->id;
	cJSON *old, *new, *payload;
	const char *email = NULL;
	struct customer cust;
	struct payment after;
	char dedupe[64];
	int rc;

	rc = store_payment_overdue_mark(t, id);
	if (rc <= 0)
		return rc;
	old = json_own(&run->work, cJSON_CreateObject());
	cJSON_AddStringToObject(old, "status", "pending");
	new = json_own(&run->work, cJSON_CreateObject());
	cJSON_AddStringToObject(new, "status", "overdue");
	if (job_audit(t, "update", id, old, new) < 0 ||
	    store_payment_get(t, id, &after) != 1 ||
	    payment_event(t, "payment:updated", &after) < 0)
		return -1;
	payload = json_own(&run->work, cJSON_CreateObject());
	json_add_int(payload, "payment_id", id);
	json_add_int(payload, "customer_id", due->customer_id);
	json_add_decimal(payload, "amount", due->amount);
	cJSON_AddStringToObject(payload, "period", due->period);
	cJSON_AddStringToObject(payload, "due_date", due->due_date);
	rc = store_customer_get(t, due->customer_id, &cust);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		json_add_str_or_null(payload, "customer_name", cust.name);
		json_add_str_or_null(payload, "customer_code",
		                     cust.customer_code);
		email = cust.email;
	}
	snprintf(dedupe, sizeof(dedupe), "payment_overdue:%" PRId64, id);
	if (email ? notify_queue(t, "payment_overdue", 0, email, payload,
	                         dedupe) < 0
	          : notify_admins(t, "payment_overdue", payload, dedupe) < 0)
		return -1;
	return 1;
}

/* Overdue payments of one tenant; returns the number changed, or -1. */
static int64_t
overdue_tenant(struct run *run, int64_t tid, const char *tz)
{
	char today[BILLING_DATE_LEN];
	int64_t changed = 0;
	struct rows pick;
	struct tdb *t;
	int rc, retries = 0;

	if (billing_today(tz, run->now, today) < 0)
		return -1;
	for (;;) {
		int64_t batch = 0;

		arena_reset(&run->work);
		t = tdb_open(run->db, &run->work, tid);
		if (!t || tdb_begin(t) < 0)
			return -1;
		/* The chain before the rows: see audit_hold(). */
		if (audit_hold(t) < 0)
			goto out_fail;
		if (store_payment_overdue_pick(t, today, OVERDUE_BATCH, &pick) <
		    0)
			goto out_fail;
		for (size_t i = 0; i < pick.n; i++) {
			rc = overdue_one(run, t, rows_at(&pick, i));
			if (rc < 0)
				goto out_fail;
			batch += rc;
		}
		if (tdb_commit(t) < 0)
			goto out_fail;
		changed += batch;
		if (pick.n < OVERDUE_BATCH)
			return changed;
		continue;
	out_fail:
		tdb_rollback(t);
		if (tdb_last_error(t) != DBE_LOCK || ++retries >= LOCK_RETRIES)
			return -1;
	}
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *config_path = opt(argc, argv, "--config");
	const char *cmd = NULL, *tenant = opt(argc, argv, "--tenant");
	const char *now_s = opt(argc, argv, "--now");
	struct arena list;
	struct rows tenants;
	struct run run;
	int64_t tid = 0, t0 = now_usec();
	char err[256];
	int invoices;

	log_setup("rtrw-billing", LOG_WARN);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			i++; /* every option takes a value */
			continue;
		}
		if (cmd)
			return usage();
		cmd = argv[i];
	}
	if (!cmd ||
	    (strcmp(cmd, "invoices") != 0 && strcmp(cmd, "overdue") != 0))
		return usage();
	invoices = strcmp(cmd, "invoices") == 0;
	memset(&run, 0, sizeof(run));
	run.period = opt(argc, argv, "--period");
	run.now = time(NULL);
	if ((tenant && parse_int64(tenant, 1, INT64_MAX, &tid) < 0) ||
	    (now_s && billing_parse_instant(now_s, &run.now) < 0)) {
		fprintf(stderr, "rtrw-billing: bad --tenant or --now\n");
		return usage();
	}
	{
		int y, m;

		if (run.period && (!invoices || billing_period_parse(
		                                    run.period, &y, &m) < 0)) {
			fprintf(stderr, "rtrw-billing: bad --period\n");
			return usage();
		}
	}
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-billing: %s\n", err);
		return 1;
	}
	if (store_register(err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-billing: %s\n", err);
		return 1;
	}
	run.db = db_open(&cfg, 0, err, sizeof(err));
	if (!run.db) {
		fprintf(stderr, "rtrw-billing: %s\n", err);
		return 1;
	}
	arena_init(&list, 0);
	arena_init(&run.work, 64L * 1024 * 1024);
	if (store_billing_tenants(run.db, &list, tid, &tenants) < 0) {
		fprintf(stderr, "rtrw-billing %s: cannot list tenants\n", cmd);
		run.failed = 1;
		goto out;
	}
	for (size_t i = 0; i < tenants.n; i++) {
		const struct billing_tenant *bt = rows_at(&tenants, i);
		int64_t id = bt->id, n;
		const char *tz = bt->timezone;

		n = invoices ? invoices_tenant(&run, id, tz)
		             : overdue_tenant(&run, id, tz);
		run.tenants++;
		if (n < 0) {
			log_error("%s failed for tenant %" PRId64, cmd, id);
			run.failed++;
		} else {
			run.done += n;
		}
	}
	printf("rtrw-billing %s: tenants=%" PRId64 " %s=%" PRId64
	       " failed=%" PRId64 " seconds=%.3f\n",
	       cmd, run.tenants, invoices ? "created" : "overdue", run.done,
	       run.failed, (double)(now_usec() - t0) / 1e6);
out:
	arena_release(&run.work);
	arena_release(&list);
	db_close(run.db);
	config_wipe(&cfg);
	return run.failed ? 1 : 0;
}
