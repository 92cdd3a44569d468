/*
 * The provisioning_jobs outbox (API.md "Routers and provisioning") and
 * the per-router lease that rtrw-provision takes before it talks to a
 * router (migration 0012).  The API reads and retries jobs; the daemon
 * (lib/provision.c) finds routers with due jobs, leases one, claims its
 * jobs in order and records what the router confirmed.
 */
#ifndef RTRW_STORE_PROVISION_H
#define RTRW_STORE_PROVISION_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct store_list;

/* A job as the API shows it; payload is JSON text. */
struct provision_job {
	int64_t id, customer_id, router_id;
	const char *action, *payload, *status;
	int64_t attempts, max_attempts;
	const char *last_error, *run_after, *created_at, *updated_at, *done_at;
};
extern const struct rowtype provision_job_row;

/* Filters of GET /provisioning-jobs (NULL or 0: any). */
struct provision_job_filter {
	const char *status;
	int64_t customer_id, router_id;
};
extern const struct store_list store_provision_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_provision_get(struct tdb *t, int64_t id, struct provision_job *out);
int store_provision_lock(struct tdb *t, int64_t id, struct provision_job *out);

/*
 * Puts failed job id back in the queue: pending, no attempts, due now,
 * error cleared.  Only a failed job changes; 0 or -1.
 */
int store_provision_retry(struct tdb *t, int64_t id);

/* ---- The daemon ---- */

/* A router with due jobs. */
struct provision_due {
	int64_t id, tenant_id;
};

/*
 * Up to limit routers of any tenant that have due jobs (pending, or
 * running under a lease that expired) and are neither paused nor leased,
 * healthy routers first, then oldest job first; rows of struct
 * provision_due in a.  0 or -1.
 */
int store_provision_due(struct db *db, struct arena *a, int64_t limit,
                        struct rows *out);

/*
 * Takes or renews the lease of router id for owner for seconds: 1 taken,
 * 0 when another live owner holds it or the router is gone, -1 error.
 */
int store_provision_lease(struct tdb *t, int64_t id, const char *owner,
                          int64_t seconds);

/* Gives the lease of router id back if owner holds it; 0 or -1. */
int store_provision_release(struct tdb *t, int64_t id, const char *owner);

/*
 * Records a pass over router id: ok clears its failures and pause;
 * otherwise its failures go up by one and it is paused for
 * pause_seconds.  0 or -1.
 */
int store_provision_router_result(struct tdb *t, int64_t id, int ok,
                                  int64_t pause_seconds);

/* The failed passes in a row of router id (0 when none); 0 or -1. */
int store_provision_router_failures(struct tdb *t, int64_t id, int64_t *n);

/* Clears the pause of router id (its connection settings changed). */
int store_provision_router_unpause(struct tdb *t, int64_t id);

/*
 * In the caller's transaction: takes up to limit due jobs of router id
 * in id order, each locked by its key (FOR UPDATE SKIP LOCKED: a job
 * locked elsewhere is left for later), leaving out every job of a
 * customer whose earlier job on the router is still waiting for its
 * back-off, and marks them running.  A job taken for the first time
 * (no attempts yet) gets max_attempts, the daemon's configuration, so
 * that the row shows the limit it runs under.  Rows of struct
 * provision_job in the handle's arena.  0 or -1.
 */
int store_provision_claim(struct tdb *t, int64_t router_id, int64_t limit,
                          int64_t max_attempts, struct rows *out);

/*
 * The outcome of one job: status done, pending (retry after delay
 * seconds) or failed; tries is added to its attempts (0 while its router
 * was unreachable); error NULL clears last_error.  0 or -1.
 */
int store_provision_finish(struct tdb *t, int64_t id, const char *status,
                           int64_t tries, int64_t delay, const char *error);

/*
 * Fails every unfinished job of router id with error (the router was
 * deleted); 0 or -1.
 */
int store_provision_fail_router(struct tdb *t, int64_t router_id,
                                const char *error);

/*
 * The live customers on router_id with an id of at least first_id, in
 * id order (struct customer rows, lib/store/customer.h): what an import
 * in the caller's transaction made, read at once for its events.  0 or
 * -1.
 */
int store_provision_imported(struct tdb *t, int64_t router_id, int64_t first_id,
                             struct rows *out);

/* Unfinished (pending or running) jobs of router id; 0 or -1. */
int store_provision_unfinished(struct tdb *t, int64_t router_id, int64_t *n);

#endif
