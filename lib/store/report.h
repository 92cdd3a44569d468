/*
 * Reports and report schedules (sql/mysql/0014_reports.up.sql): the rows
 * of POST /reports and /report-schedules, the queue rtrw-reports works
 * through, and the figures a report is built from.
 *
 * A report is a job and its result in one row: queued by the API or a
 * schedule, claimed by one service (FOR UPDATE SKIP LOCKED), running
 * with a progress and a heartbeat, then done (with the file's name,
 * sizes and digest), failed (with the error) or, after the retention
 * time, expired (the file removed).  Every change a service makes to a
 * claimed report is fenced by the attempt it claimed (attempts): a
 * service that lost its claim to another after going silent changes
 * nothing any more.
 *
 * The figures are computed in SQL over DECIMAL columns and arrive as
 * exact decimal literals.
 */
#ifndef RTRW_STORE_REPORT_H
#define RTRW_STORE_REPORT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct store_list;

struct report {
	int64_t id;
	const char *type, *format, *from, *to, *status;
	int64_t progress;
	const char *error;
	int64_t row_count, size_bytes;
	const char *sha256;
	int64_t requested_by, schedule_id, attempts;
	const char *created_at, *started_at, *finished_at, *expires_at;
	/* Hidden: never in the API's answers. */
	const char *file_name;
	struct bytes link_hash;
	const char *recipients; /* JSON array of addresses, or NULL */
};
extern const struct rowtype report_row;

/* Filters of GET /reports (NULL and 0: any). */
struct report_filter {
	const char *status, *type;
	int64_t schedule_id;
};
extern const struct store_list store_report_list;

/* What a new report is made of. */
struct report_new {
	const char *type, *format, *from, *to;
	int64_t requested_by, schedule_id; /* 0: none */
	const char *recipients;            /* JSON array text, or NULL */
};

/* Lookups return 1 found, 0 absent, -1 error. */
int store_report_get(struct tdb *t, int64_t id, struct report *out);

/* Inserts a queued report; 0 or -1. */
int store_report_insert(struct tdb *t, const struct report_new *n, int64_t *id);

/* Queued and running reports of the tenant; 0 or -1. */
int store_report_active_count(struct tdb *t, int64_t *n);

/*
 * The queue, across tenants (rtrw-reports, inside a transaction of the
 * connection): the oldest queued report, or the oldest running one whose
 * heartbeat is more than lease_seconds old by the database's clock, of an
 * active tenant (only_tenant 0: any), locked FOR UPDATE SKIP LOCKED together
 * with its tenant's row, so that a report whose tenant row someone holds
 * is passed over.  1 found, 0 none, -1 error.
 */
struct report_job {
	int64_t id, tenant_id, attempts;
	const char *timezone;
};
int store_report_next_queued(struct db *db, struct arena *a,
                             int64_t only_tenant, struct report_job *out);
int store_report_next_stale(struct db *db, struct arena *a, int64_t only_tenant,
                            int64_t lease_seconds, struct report_job *out);

/*
 * Claims report id for a new attempt: running, progress 0, attempts + 1,
 * started and heartbeat now.  1, 0 (not queued or running) or -1.
 */
int store_report_claim(struct tdb *t, int64_t id);

/*
 * The fenced changes of a claimed report (attempt = the attempts value
 * after the claim): 1 done, 0 when the report is no longer this
 * attempt's (another service took it over), -1 error.
 */
int store_report_progress(struct tdb *t, int64_t id, int64_t attempt,
                          int64_t progress);

/* What a finished report records. */
struct report_done {
	int64_t row_count, size_bytes;
	const char *sha256, *file_name;
	struct bytes link_hash;
	int64_t retention_days;
};
int store_report_finish(struct tdb *t, int64_t id, int64_t attempt,
                        const struct report_done *d);
int store_report_fail(struct tdb *t, int64_t id, int64_t attempt,
                      const char *error);

/*
 * Done reports whose expires_at is at or before now (UTC text) of every
 * tenant (only_tenant 0), at most limit, oldest first, locked FOR UPDATE
 * SKIP LOCKED: rows of struct report_expiring into out.  0 or -1.
 */
struct report_expiring {
	int64_t id, tenant_id;
	const char *file_name;
};
int store_report_expiring(struct db *db, struct arena *a, int64_t only_tenant,
                          const char *now, int64_t limit, struct rows *out);

/* Marks a done report expired and forgets its file and link; 1, 0, -1. */
int store_report_expire(struct tdb *t, int64_t id);

/* Whether tenant id exists (the file sweep); 1, 0 or -1. */
int store_report_tenant_exists(struct db *db, struct arena *a, int64_t id);

/* ---- Figures (one month or the whole range: from..to inclusive). ---- */

/* Revenue: paid payments by the payer's current plan. */
struct report_revenue {
	int64_t plan_id;
	const char *plan_name;
	int64_t payments;
	const char *revenue;
};
int store_report_revenue(struct tdb *t, const char *from, const char *to,
                         struct rows *out);

/* Totals of a range: payments and their sum ("0.00" when none). */
struct report_total {
	int64_t payments;
	const char *amount;
};
int store_report_revenue_total(struct tdb *t, const char *from, const char *to,
                               struct report_total *out);

/* Payments with a payment_date in the range by status and method. */
struct report_payment {
	const char *status, *method; /* method may be NULL */
	int64_t payments;
	const char *amount;
};
int store_report_payments(struct tdb *t, const char *from, const char *to,
                          struct rows *out);
int store_report_payments_total(struct tdb *t, const char *from, const char *to,
                                struct report_total *out);

/*
 * Customer growth between two instants (UTC text, [start, end)):
 * customers created, customers that left (terminated or deleted,
 * whichever first), and the customers there were at start.
 */
struct report_growth {
	int64_t new_customers, churned;
};
int store_report_growth(struct tdb *t, const char *start, const char *end,
                        struct report_growth *out);
int store_report_customers_at(struct tdb *t, const char *at, int64_t *n);

/* ---- Schedules ---- */

struct report_schedule {
	int64_t id;
	const char *name, *type, *format, *frequency;
	int64_t hour, day_of_week, day_of_month; /* 0: not applicable */
	const char *date_range;
	const char *recipients; /* JSON array of addresses */
	int active;
	const char *next_run_at, *last_run_at;
	int64_t last_report_id, created_by;
	const char *created_at, *updated_at;
};
extern const struct rowtype report_schedule_row;

struct report_schedule_filter {
	const char *type, *frequency;
};
extern const struct store_list store_report_schedule_list;

int store_report_schedule_get(struct tdb *t, int64_t id,
                              struct report_schedule *out);
int store_report_schedule_lock(struct tdb *t, int64_t id,
                               struct report_schedule *out);

/* Inserts s (every member but the times and last_*); 0 or -1. */
int store_report_schedule_insert(struct tdb *t, const struct report_schedule *s,
                                 int64_t *id);

/* Writes every settable member of s to row s->id; 0 or -1. */
int store_report_schedule_update(struct tdb *t,
                                 const struct report_schedule *s);

/* 1 deleted, 0 absent, -1 error. */
int store_report_schedule_delete(struct tdb *t, int64_t id);

/* The tenant's schedules; 0 or -1. */
int store_report_schedule_count(struct tdb *t, int64_t *n);

/*
 * The most overdue active schedule of an active tenant (only_tenant 0:
 * any) due at or before now (UTC text), locked FOR UPDATE SKIP LOCKED
 * with its tenant's row.  1, 0 or -1.
 */
struct report_due {
	int64_t id, tenant_id;
	const char *timezone;
};
int store_report_schedule_next_due(struct db *db, struct arena *a,
                                   int64_t only_tenant, const char *now,
                                   struct report_due *out);

/* Records a run: last_run_at, last_report_id and the next run; 0, -1. */
int store_report_schedule_ran(struct tdb *t, int64_t id, const char *ran_at,
                              int64_t report_id, const char *next_run_at);

#endif
