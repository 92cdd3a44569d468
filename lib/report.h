/*
 * Reports: building them (rtrw-reports), the files they leave, the
 * emailed links to those files, and the schedules that order them.
 * The API's handlers (fcgi/reports.c) queue reports and read files
 * through this; the service (jobs/reports.c) is a loop around
 * report_run_schedules(), report_run_one() and report_expire().
 *
 * Types (API.md "Exports and reports"), all over from..to inclusive in
 * the tenant's calendar:
 *
 *   revenue          paid payments by month of payment_date and by the
 *                    payer's plan: payments, revenue
 *   customer_growth  by month of the tenant's local calendar: customers
 *                    created (new), customers that left (churned:
 *                    terminated or deleted, whichever came first), net
 *                    (new - churned) and the customers at the month's end
 *   payments         payments with a payment_date in the range by status
 *                    and method: payments, amount
 *
 * Figures come from SQL over DECIMAL columns and go into the file as the
 * exact literals MariaDB prints; every query of one report reads one
 * snapshot (a transaction), so the totals are the sums of the rows.
 *
 * Files: reports_dir/<tenant id>/<report id>-<16 random hex>.<csv|xlsx|
 * json>, directories 0700 and files 0600, written under a ".tmp" name,
 * fsync'd and renamed into place.  The tenant directory comes from the
 * tenant handle and the file name from the report row (checked to be a
 * bare name), never from a request, so one tenant's request cannot name
 * another tenant's file; the random part keeps a file from being served
 * for a row that merely reuses an id (a database restored without the
 * directory).
 *
 * Emailed links: when a report is done the service queues report_ready
 * to the requester (a user) and to every recipient of its schedule (any
 * address).  The email carries a link, not the file, because the mailer
 * sends text and HTML parts only and because a link stops working when
 * the file expires; recipients of a schedule need not have an account,
 * so the link is a capability: public_url/api/v1/report-files?token=
 * <tenant>-<report>-<64 hex>, 256 random bits of which only the SHA-256
 * is stored (reports.link_hash), compared in constant time.
 */
#ifndef RTRW_REPORT_H
#define RTRW_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "report_time.h"

struct config;
struct db;
struct report;
struct report_schedule;

/* NULL-terminated choices, in the order of the API's enums. */
extern const char *const report_types[];
extern const char *const report_formats[];
extern const char *const report_statuses[];
extern const char *const report_frequencies[];
extern const char *const report_ranges[];

/* The longest date range one report may cover (about ten years). */
#define REPORT_MAX_DAYS 3660
/* Claims of one report before it is given up as failed. */
#define REPORT_MAX_ATTEMPTS 3
/* Queued and running reports one tenant may have at once. */
#define REPORT_MAX_ACTIVE 10
/* Schedules per tenant and recipients per schedule. */
#define REPORT_MAX_SCHEDULES  50
#define REPORT_MAX_RECIPIENTS 20
/* Longest emailed link token: two ids, two dashes, 64 hex digits. */
#define REPORT_TOKEN_MAX 112

/* The MIME type of a format ("text/csv; charset=utf-8"...). */
const char *report_content_type(const char *format);

/*
 * The download's file name: "revenue-2026-01-01-2026-03-31-12.csv"
 * (type, range, id), allocated in a.  NULL when out of memory.
 */
const char *report_download_name(struct arena *a, const struct report *rep);

/*
 * Opens the file of a done report of tenant_id for reading (O_NOFOLLOW,
 * a regular file of exactly the size the row records) into *fd.  0, or
 * -1 when it is missing, changed or the name is not a bare file name
 * (logged).
 */
int report_file_open(const struct config *c, int64_t tenant_id,
                     const struct report *rep, int *fd);

/*
 * Whether token (an emailed link's) names tenant and report and matches
 * the report's link_hash: 1 yes, 0 no.  report_link_ids() reads the ids
 * out of a token first (0, or -1 when it is malformed).
 */
int report_link_ids(const char *token, int64_t *tenant_id, int64_t *report_id);
int report_link_ok(const char *token, const struct report *rep);

/*
 * The next run of schedule s after now in zone tz, as UTC text into
 * next ("YYYY-MM-DD HH:MM:SS").  0, or -1 when s is not a valid rule.
 */
int report_schedule_next(const char *tz, const struct report_schedule *s,
                         time_t now, char next[REPORT_SQLTIME_LEN]);

/* The service's connections, clock and what it did. */
struct report_service {
	const struct config *cfg;
	/*
	 * db reads a report's figures inside one transaction (a snapshot)
	 * and finishes it; side commits the progress meanwhile, which db
	 * cannot while its transaction is open.
	 */
	struct db *db, *side;
	struct arena work, side_work;
	int64_t only_tenant; /* 0: every tenant */
	int64_t scheduled, built, failed, expired;
};

/*
 * Opens both connections of the service (the application's account).
 * 0, or -1 with err.  Release with report_service_release() either way.
 */
int report_service_init(struct report_service *s, const struct config *cfg,
                        int64_t only_tenant, char *err, size_t errlen);
void report_service_release(struct report_service *s);

/*
 * Queues one report for every schedule due at or before now (a schedule
 * that missed several runs runs once, for the newest of them, and moves
 * on to its next run after now).  Returns the number queued, or -1.
 */
int report_run_schedules(struct report_service *s, time_t now);

/*
 * Claims the oldest queued report (or one whose service went silent for
 * reports_lease_seconds) and builds it: the file, progress updates, then
 * done (event report:completed, report_ready emails) or failed (the
 * event).  A report claimed for the REPORT_MAX_ATTEMPTS-th time and
 * found silent again is failed without another try.  Returns 1 when it
 * handled one, 0 when there was nothing to do, -1 on a database error.
 */
int report_run_one(struct report_service *s);

/*
 * Retention: marks done reports whose expires_at has come expired and
 * removes their files; then sweeps reports_dir for leftovers (temporary
 * files older than a day by the real clock, and the directories of
 * tenants that no longer exist, files and all).
 * Returns the number expired, or -1.
 */
int report_expire(struct report_service *s, time_t now);

#endif
