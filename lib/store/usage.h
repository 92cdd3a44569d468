/*
 * Usage monitoring data (sql/mysql/0013_usage.up.sql): the collector's
 * claims and per-router state, the customers of a router with their last
 * reading, the multi-row writes of a router's readings into the four
 * levels, the points of a customer's graph, the overview's figures, the
 * tenant's thresholds, and the partition upkeep and purge routines.
 *
 * Batches travel as one JSON text bound to a single parameter and
 * unpacked by JSON_TABLE on the server, so that 2,000 rows are one
 * prepared statement with two parameters instead of 2,000 round trips or
 * SQL built from values.  The JSON is made by lib/collect.c from rows this
 * store returned through the same tenant handle, and every INSERT binds
 * :tenant itself, so a batch cannot write into another tenant.
 */
#ifndef RTRW_STORE_USAGE_H
#define RTRW_STORE_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct db;

/*
 * Claims router_id for this cycle on behalf of owner ("host:pid"): 1 when
 * the claim is ours (no claim, or the last one is at least gap_ms old by
 * the database's clock), 0 when another collector holds it, -1 on error.
 */
int store_usage_claim(struct tdb *t, int64_t router_id, const char *owner,
                      int64_t gap_ms);

/* What the collector needs of a router's tenant and of its last poll. */
struct usage_router_info {
	const char *timezone;
	int has_settings;
	int64_t sustained_percent; /* 0: off (NULL) */
	int64_t sustained_minutes;
	int64_t monthly_volume_gb; /* 0: off (NULL) */
	int64_t router_uptime;     /* at the last good poll; 0: unknown */
};
int store_usage_router_info(struct tdb *t, int64_t router_id,
                            struct usage_router_info *out);

/*
 * A customer on the router, its effective plan speeds (the fastest active
 * boost's, else its plan's) and its last reading (session_id NULL: none).
 * Counters are decimal text (64 bits do not fit an int64_t).
 */
struct usage_customer {
	int64_t id;
	const char *pppoe_username, *status;
	int64_t speed_download, speed_upload; /* boosted */
	int64_t plan_download, plan_upload;   /* the plan's own */
	const char *session_id;
	int64_t session_uptime;
	const char *rx_counter, *tx_counter, *read_at;
	int online;
	int64_t hot_seconds, cool_seconds;
	int episode;
	const char *month;
	int64_t month_bytes;
	int month_alerted;
};
extern const struct rowtype usage_customer_row;

/* Every live customer with a PPPoE name on router_id; 0 or -1. */
int store_usage_router_customers(struct tdb *t, int64_t router_id,
                                 struct rows *out);

/*
 * Adds a batch of readings to the four levels: rows is a JSON array of
 * [customer_id, rx_bytes, tx_bytes, secs, rx_bps, tx_bps], one per
 * customer; minute, five, hour and day are the buckets ("YYYY-MM-DD
 * HH:MM:SS", UTC) the batch falls in.  Bytes and secs add up, peaks keep
 * the highest.  0 or -1.
 */
struct usage_buckets {
	const char *minute, *five, *hour, *day;
};
int store_usage_add(struct tdb *t, const char *rows,
                    const struct usage_buckets *b);

/*
 * Writes the customers' last readings: rows is a JSON array of
 * [customer_id, router_id, session_id, session_uptime, "rx_counter",
 * "tx_counter", online, rx_bps, tx_bps, hot_seconds, cool_seconds,
 * episode, month, month_bytes, month_alerted]; read_at is the reading's
 * time.  0 or -1.
 */
int store_usage_sessions_put(struct tdb *t, const char *rows,
                             const char *read_at);

/*
 * The outcome of one router's poll (ok 0: it failed); a good one stamps
 * polled_at with the database's clock and records the router's active
 * customers and their plans' speeds (a failed one keeps the last).
 */
struct usage_router_done {
	int64_t router_id;
	int ok;
	int64_t router_uptime, sessions_online, rx_bps, tx_bps;
	int64_t active_customers, plan_download_kbps, plan_upload_kbps;
};
int store_usage_router_done(struct tdb *t, const struct usage_router_done *d);

/* The levels a graph reads from. */
enum usage_level { USAGE_5M, USAGE_HOURLY, USAGE_DAILY, USAGE_LEVEL__MAX };

/* One stored bucket of a customer; at is NULL for a customer without any. */
struct usage_point {
	int64_t customer_id;
	const char *at;
	int64_t rx_bytes, tx_bytes, secs, peak_rx_bps, peak_tx_bps;
};

/*
 * The customer's buckets of level at or after since ("YYYY-MM-DD
 * HH:MM:SS", UTC), oldest first, in one read: 0 rows when the customer
 * does not exist (or is deleted) in the tenant, one row with at NULL when
 * it exists without data.  0 or -1.
 */
int store_usage_points(struct tdb *t, enum usage_level level,
                       int64_t customer_id, const char *since,
                       struct rows *out);

/* A live router's overview inputs. */
struct usage_overview_row {
	int64_t id;
	const char *name, *status;
	int64_t uplink_capacity_kbps; /* 0: not set */
	const char *polled_at;
	int ok, fresh;
	int64_t sessions_online, rx_bps, tx_bps;
	int64_t plan_download_kbps, plan_upload_kbps, active_customers;
};

/*
 * Every live router of the tenant by name; fresh says its last poll
 * succeeded within fresh_seconds.  0 or -1.
 */
int store_usage_overview(struct tdb *t, int64_t fresh_seconds,
                         struct rows *out);

/*
 * The tenant's high-usage thresholds, as GET /monitoring/settings answers
 * them (updated_at NULL: the defaults, never changed).
 */
struct usage_settings {
	int64_t sustained_percent; /* 0: NULL, off */
	int64_t sustained_minutes;
	int64_t monthly_volume_gb; /* 0: NULL, off */
	const char *updated_at;
};
extern const struct rowtype usage_settings_row;

/* The tenant's stored thresholds; 1 found, 0 none (the defaults), -1. */
int store_usage_settings_get(struct tdb *t, struct usage_settings *out);

/* Inserts or replaces the tenant's thresholds; 0 or -1. */
int store_usage_settings_put(struct tdb *t, const struct usage_settings *s);

/*
 * CALL usage_partitions(): partition upkeep of one usage table
 * ("usage_raw", ...) at instant now.  0 or -1.
 */
int store_usage_partitions(struct db *db, struct arena *a, const char *table,
                           const char *now, int64_t days, int64_t keep_hours,
                           int64_t ahead);

/* CALL usage_purge(): up to batch rows of a deleted tenant per table. */
int store_usage_purge(struct db *db, struct arena *a, int64_t batch);

#endif
