/*
 * Usage monitoring (issue 12): the arithmetic of the router readings, the
 * high-usage checks, the network overview, and the connection to a
 * customer's router that the collector (lib/collect.h) and the realtime
 * endpoint share.
 *
 * Directions are always the customer's: rx is what the customer
 * downloads, which the router counts as tx on the customer's dynamic
 * <pppoe-NAME> interface, and tx is the customer's upload.
 *
 * Deltas.  A router reports cumulative 64-bit byte counters per session
 * interface, so each reading is compared with the last one of the same
 * customer (usage_sessions) and only the difference is stored.  The rules
 * keep a delta from ever being negative or a spike:
 *  - the time base is the router's own clock: the session's uptime for
 *    the same session, the router's uptime for telling whether a new
 *    session began after the last reading; so a late or repeated poll,
 *    or the collector's host clock, changes nothing;
 *  - same session, counter grew: the difference;
 *  - same session, counter shrank: either the counter wrapped past 2^64
 *    (the difference modulo 2^64 is plausible: taken) or it was reset
 *    (/interface/reset-counters: the new value, bytes since the reset);
 *  - a new session (another .id, or an uptime that went back): its whole
 *    counter when it began after the last reading (its uptime is within
 *    the router time elapsed since then), otherwise nothing: its bytes
 *    before our first sight of it are not ours to count;
 *  - the first reading of a router, or of a session we know nothing
 *    about: a baseline only;
 *  - anything above max_bps over the interval (usage_max_bps, 10 Gbit/s
 *    by default) is implausible, a counter that jumped: dropped, and the
 *    new value becomes the baseline;
 *  - an interval longer than USAGE_MAX_GAP seconds (the router unreachable
 *    for most of a day while the session stayed up) is not attributed to
 *    one bucket: a baseline only.
 * Bytes lost that way are the price of never inventing any.
 *
 * Layer: services.
 */
#ifndef RTRW_USAGE_H
#define RTRW_USAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct arena;
struct config;
struct ros_conn;
struct ros_error;
struct router_secret;
struct tdb;

/* The longest interval one reading may cover (a raw row's secs). */
#define USAGE_MAX_GAP 65535

/* Tenants without usage_settings: 90 % of the plan for 15 minutes. */
#define USAGE_DEFAULT_PERCENT 90
#define USAGE_DEFAULT_MINUTES 15

/*
 * How recent a router's last poll must be for the overview to count its
 * sessions and traffic (three cycles of a minute).
 */
#define USAGE_FRESH_SECONDS 180

/* A session's counters at one reading, in the customer's directions. */
struct usage_reading {
	const char *session_id; /* the /ppp/active .id */
	int64_t uptime;         /* the session's uptime, seconds */
	uint64_t rx, tx;
};

/* What the last reading of the customer left (known 0: none). */
struct usage_last {
	int known;
	const char *session_id;
	int64_t uptime;
	uint64_t rx, tx;
};

/* What happened between two readings, for the logs and the tests. */
enum usage_kind {
	USAGE_SAME,        /* same session, counters grew */
	USAGE_IDLE,        /* same session, no router time passed */
	USAGE_WRAP,        /* a counter wrapped past 2^64 */
	USAGE_RESET,       /* a counter was reset */
	USAGE_NEW_SESSION, /* a session that began since the last reading */
	USAGE_BASELINE,    /* nothing to compare with: first sight */
	USAGE_SPIKE,       /* an implausible jump, dropped */
	USAGE_GAP,         /* interval too long to attribute */
	USAGE_KIND__MAX
};

struct usage_delta {
	uint64_t rx_bytes, tx_bytes;
	int64_t secs; /* what the bytes cover; 0: nothing to record */
	uint64_t rx_bps, tx_bps; /* the mean rates over secs */
	enum usage_kind kind;
};

/* "same", "idle", "wrap", "reset", "new_session", "baseline", ... */
const char *usage_kind_name(enum usage_kind k);

/*
 * The delta from last to now.  elapsed is the router time in seconds
 * since the last poll of the router (-1 when unknown: its first poll);
 * rebooted says the router's uptime went back since (every session is
 * then new).  max_bps is the plausibility cap.  Never fails.
 */
void usage_delta(const struct usage_last *last, const struct usage_reading *now,
                 int64_t elapsed, int rebooted, uint64_t max_bps,
                 struct usage_delta *out);

/*
 * Parses a RouterOS duration ("1w2d3h4m5s", "45s", "3d04:05:06",
 * "00:00:07", sub-second parts such as "150ms" ignored) into seconds.
 * 0, or -1 for anything else (or more than 100 years).
 */
int usage_parse_duration(const char *s, int64_t *secs);

/* Parses a decimal counter (1 to 20 digits, at most 2^64 - 1); 0 or -1. */
int usage_parse_u64(const char *s, uint64_t *out);

/* The start of the bucket of width seconds that holds t (UTC). */
time_t usage_bucket(time_t t, int width);

/* Alert transitions of the checks below (a bit mask). */
#define USAGE_ALERT_RAISE   1
#define USAGE_ALERT_RESOLVE 2

/*
 * The sustained-rate check of one customer: *hot and *cool count the
 * seconds the rate has been over / under the threshold without a break,
 * *episode says an alert is open.  over says this reading's rate is at
 * or above the threshold, secs how long it covers; need is the sustained
 * time (minutes * 60), 0 when the check is off (an open episode then
 * ends).  Raising needs need seconds over, resolving need seconds under.
 * Returns 0, USAGE_ALERT_RAISE or USAGE_ALERT_RESOLVE.
 */
int usage_sustained_step(int64_t *hot, int64_t *cool, int *episode, int over,
                         int64_t secs, int64_t need);

/*
 * Whether rate bps is at or above percent of a plan speed of kbps kbit/s
 * (false for a speed of 0, which no plan has).
 */
int usage_over(uint64_t bps, int64_t kbps, int64_t percent);

/*
 * The monthly volume check: *month ("YYYY-MM", 8 bytes) and *bytes are
 * the month counted so far and its bytes, *alerted whether its alert is
 * open.  key is the month of this reading; a new month resolves the last
 * one's alert (its key is copied into prev, 8 bytes) and starts from 0.
 * add is this reading's rx + tx; limit the threshold in bytes (0: off,
 * which resolves an open alert).  Returns a mask of USAGE_ALERT_RAISE
 * (the current month) and USAGE_ALERT_RESOLVE (prev).
 */
int usage_month_step(char *month, uint64_t *bytes, int *alerted,
                     const char *key, uint64_t add, uint64_t limit, char *prev);

/*
 * The tenant's high-usage thresholds (usage_settings, or the defaults).
 * percent 0: the sustained check is off; volume_gb 0: the monthly one.
 */
struct usage_limits {
	int64_t percent, minutes, volume_gb;
};

/* What one router contributes to the overview. */
struct usage_overview_router {
	int64_t id;
	const char *name, *status, *polled_at;
	int64_t capacity_kbps, capacity_upload_kbps;
	const char *capacity_source; /* "uplink" or "plans" */
	int64_t used_kbps, used_upload_kbps, sessions_online;
	int64_t active_customers;
	int fresh; /* polled within USAGE_FRESH_SECONDS */
};

/* GET /monitoring/overview and the dashboard's bandwidth. */
struct usage_overview {
	int64_t capacity_kbps, capacity_upload_kbps;
	int64_t used_kbps, used_upload_kbps;
	int64_t sessions_online, active_customers;
	char usage_percent[24], upload_usage_percent[24]; /* "12.34" */
	struct usage_overview_router *routers;
	size_t nrouters;
};

/*
 * Computes the tenant's overview: per live router its capacity (the
 * configured uplink when set, else the sum of its active customers' plan
 * speeds as its last good poll counted them), the customers' current
 * rates and sessions from its last poll (when fresh), and the totals.
 * Percentages are used / capacity with two decimals, rounded half up ("0.00"
 * without capacity).  Rows live in the handle's arena; the router array in a.
 * 0 or -1.
 */
int usage_overview_get(struct tdb *t, struct arena *a,
                       struct usage_overview *out);

/*
 * Adds the overview's totals to d, as GET /monitoring/overview and the
 * monitoring:update event both carry them: capacity_kbps, used_kbps,
 * usage_percent, their upload twins and sessions_online.
 */
struct cJSON;
void usage_overview_totals_json(struct cJSON *d,
                                const struct usage_overview *ov);

/*
 * Formats 100 * num / den with two decimals, half up, into out[24]
 * ("0.00" when either is not positive; at most 100000000.00).
 */
void usage_percent(int64_t num, int64_t den, char out[24]);

/*
 * Opens the router's sealed password with the data key and logs in with
 * the given timeouts (ms) and reply cap (0: the library's default).
 * Returns the connection, or NULL with *err (ROS_ERR_INVALID when the
 * password does not open).  The password is wiped on every path.
 */
struct ros_conn *usage_router_connect(const struct config *cfg,
                                      const struct router_secret *rt,
                                      int connect_ms, int read_ms,
                                      size_t max_reply, struct ros_error *err);

/*
 * Reads /interface/monitor-traffic of the customer's <pppoe-NAME>
 * interface once: its current rates in the customer's directions.
 * Returns 1 with the rates, 0 when the router has no such interface (the
 * customer is not online), -1 with *err.
 */
int usage_realtime(struct ros_conn *c, struct arena *a, const char *pppoe_name,
                   uint64_t *rx_bps, uint64_t *tx_bps, struct ros_error *err);

#endif
