/*
 * Service plans and their price history.  Plans are soft-deleted
 * (deleted_at) because customers, deleted ones included, and the price
 * history keep pointing at them.  The history gets a row when a plan is
 * created (old_price NULL) and on every change of price.
 */
#ifndef RTRW_STORE_PLAN_H
#define RTRW_STORE_PLAN_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

/* A plan; the burst values and burst_time are 0 when not set (NULL). */
struct plan {
	int64_t id;
	const char *name;
	int64_t speed_download, speed_upload;
	const char *price;
	int active;
	int64_t burst_download, burst_upload;
	int64_t burst_threshold_download, burst_threshold_upload, burst_time;
	int64_t priority;
	const char *queue_type, *mikrotik_profile, *created_at, *updated_at;
};
extern const struct rowtype plan_row;

struct plan_filter {
	int include_inactive;
};
extern const struct store_list store_plan_list;

struct plan_price {
	int64_t id, service_plan_id;
	const char *old_price, *new_price;
	int64_t changed_by;
	const char *changed_at;
};
extern const struct rowtype plan_price_row;

/* Price history of a plan: the filter is the plan. */
struct plan_price_filter {
	int64_t service_plan_id;
};
extern const struct store_list store_plan_price_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_plan_get(struct tdb *t, int64_t id, struct plan *out);
int store_plan_lock(struct tdb *t, int64_t id, struct plan *out);

/*
 * Reads plan id with a shared lock until commit, so that a concurrent
 * delete of the plan waits and then sees the customer being given it.
 */
int store_plan_share(struct tdb *t, int64_t id, struct plan *out);

/* Inserts p (id and times ignored) and its first price; 0 or -1. */
int store_plan_insert(struct tdb *t, const struct plan *p, int64_t changed_by,
                      int64_t *id);

/* Writes every field of p to plan p->id; 0 or -1. */
int store_plan_update(struct tdb *t, const struct plan *p);

/* Records a price change; 0 or -1. */
int store_plan_price_changed(struct tdb *t, int64_t id, const char *old_price,
                             const char *new_price, int64_t changed_by);

int store_plan_delete(struct tdb *t, int64_t id);

/* Number of live customers on plan id; 0 or -1. */
int store_plan_users(struct tdb *t, int64_t id, int64_t *n);

/*
 * Creates the default service plans of a new tenant (run by
 * seed_tenant() in the registering transaction); 0 or -1.
 */
int store_plan_seed(struct tdb *t);

#endif
