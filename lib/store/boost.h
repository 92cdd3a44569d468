/*
 * Speed boosts (API.md "Speed boosts"): temporary upgrades of a customer
 * to a faster plan, requested, then approved (active from start_at to
 * end_at) or rejected, cancelled, or expired by rtrw-boost.
 *
 * What the provisioning daemon needs of them is one question, the plan
 * a customer runs at right now (store_boost_effective_plan()); the
 * writers of boosts ask it twice, with and without the boost they
 * change, to know whether the router must hear about the change.
 *
 * Lock order of every writer of boosts: the boost row first
 * (store_boost_lock()), then its customer (store_customer_lock()), so
 * that two changes of one customer's boosts queue on the customer row,
 * and the second one's reads see the first one's commit.
 */
#ifndef RTRW_STORE_BOOST_H
#define RTRW_STORE_BOOST_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct customer;
struct store_list;

/*
 * A boost.  requested_by and decided_by are users (0: none, or a user
 * since deleted); start_at and end_at are NULL until it is approved;
 * price is the quote made when it was requested.
 */
struct boost {
	int64_t id, customer_id, boost_plan_id, base_plan_id, duration_hours;
	const char *price, *status, *requested_at;
	int64_t requested_by, decided_by;
	const char *start_at, *end_at, *rejection_reason;
	const char *created_at, *updated_at;
};
extern const struct rowtype boost_row;

/* Filters of GET /speed-boosts (0 and NULL: any). */
struct boost_filter {
	int64_t customer_id;
	const char *status;
};
extern const struct store_list store_boost_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_boost_get(struct tdb *t, int64_t id, struct boost *out);

/* store_boost_get() with the row locked FOR UPDATE until commit. */
int store_boost_lock(struct tdb *t, int64_t id, struct boost *out);

/*
 * Inserts a pending boost from b's customer_id, boost_plan_id,
 * base_plan_id, duration_hours, price and requested_by (the rest is the
 * database's); 0 or -1.
 */
int store_boost_insert(struct tdb *t, const struct boost *b, int64_t *id);

/*
 * The status moves.  Each changes boost id only from the statuses it
 * starts from and returns 1 when it did, 0 when the boost was not there
 * in such a status (the caller holds the row lock, so 0 means a bug or
 * a lost row), -1 on error.
 *
 * approve: pending -> active, start_at now, end_at start_at plus
 *          duration_hours, decided_by user_id.
 * reject:  pending -> rejected with reason, decided_by user_id.
 * cancel:  pending or active -> cancelled; an active boost's end_at
 *          becomes now when that is earlier (the moment it really ended).
 * expire:  active -> expired.
 */
int store_boost_approve(struct tdb *t, int64_t id, int64_t user_id);
int store_boost_reject(struct tdb *t, int64_t id, int64_t user_id,
                       const char *reason);
int store_boost_cancel(struct tdb *t, int64_t id);
int store_boost_expire(struct tdb *t, int64_t id);

/*
 * The plan customer_id runs at now: the boost plan of its fastest active
 * boost that has not reached end_at (by speed_download, then the
 * earliest boost), or its own plan when it has none, or when its own
 * plan is faster by download than every boost (a customer who upgraded
 * during a boost is never slowed down by it).  1 with *plan_id, 0 when
 * the customer does not exist (or is deleted), -1 on error.
 */
int store_boost_effective_plan(struct tdb *t, int64_t customer_id,
                               int64_t *plan_id);

/*
 * The same question about a moment and a hypothesis: the plan customer_id
 * runs at as of now (a "YYYY-MM-DD HH:MM:SS" UTC time, NULL for the
 * database's clock) when boost_id counts as active whatever its status
 * and end_at (counted 1) or does not count at all (counted 0).  A change
 * of boost_id alters what the customer should run at exactly when the
 * two answers differ.  1, 0 or -1 as above.
 */
int store_boost_plan_with(struct tdb *t, int64_t customer_id, int64_t boost_id,
                          int counted, const char *now, int64_t *plan_id);

/*
 * Queues the router change of a change of boost b when it alters what
 * the customer c should run at as of now (NULL: the database's clock):
 * with and without b differ (store_boost_plan_with(), which ignores b's
 * own status, so this may run before or after b's update), c is active
 * and c has a router.  c must be the customer's row, locked.
 * The job is a change_profile for the customer's router with the
 * customer and the reason (e.g. "boost_expired") but no profile name:
 * the provisioning daemon applies store_boost_effective_plan() when it
 * runs the job, so a late job still applies what is right then.
 * Returns 1 queued, 0 nothing to do, -1 on error.
 */
int store_boost_queue_change(struct tdb *t, const struct boost *b,
                             const struct customer *c, const char *now,
                             const char *reason);

/* A boost whose end_at has passed, for rtrw-boost expire. */
struct boost_due {
	int64_t id, tenant_id, customer_id;
	const char *end_at;
};
extern const struct rowtype boost_due_row;

/*
 * Up to limit active boosts of every tenant whose end_at is at or before
 * now ("YYYY-MM-DD HH:MM:SS" UTC), with ids above after, by id, into out
 * (rows of struct boost_due in a).  0 or -1.
 */
int store_boost_due(struct db *db, struct arena *a, const char *now,
                    int64_t after, int64_t limit, struct rows *out);

/* store_boost_due() within the handle's tenant. */
int store_boost_due_tenant(struct tdb *t, const char *now, int64_t after,
                           int64_t limit, struct rows *out);

#endif
