/*
 * Usage monitoring (API.md "Monitoring and alerts"): a customer's usage
 * graph, its current rates read from the router, the network overview,
 * and the tenant's high-usage thresholds.  What the collector stores and
 * how is lib/collect.h and lib/usage.h.
 *
 * GET /customers/{id}/usage?period=24h|7d|30d (default 24h) answers the
 * stored buckets of one level, oldest first: 5-minute buckets of the last
 * 24 hours (288 at most, the current one included), hourly buckets of the
 * last 7 days (168), daily buckets of the last 30 days (30, each from the
 * tenant's local midnight).  A bucket without readings (the customer
 * offline, the router unreachable) has no point, so clients draw gaps as
 * gaps.  rx is the customer's download, tx the upload; rx_bps/tx_bps are
 * the mean rates over the time the bucket's bytes were measured, peak_*
 * the highest rate of one reading in it.  One query answers it, the
 * customer's existence included.
 *
 * GET /customers/{id}/usage/realtime logs into the customer's router and
 * reads /interface/monitor-traffic once, within usage_realtime_timeout_ms
 * (2 s: half for the connection, a quarter each for the login and the
 * reply).  A router that cannot be read is 503 router_unreachable, and
 * for 10 seconds after that the same router is answered 503 at once
 * without trying (memcached), so that a dead router cannot tie up the few
 * API workers.  A customer without a router or PPPoE name is 409
 * no_router; one without a session is 200 with online false and zero
 * rates.
 *
 * The thresholds are tenant settings of their own, GET (every role) and
 * PATCH (admin) /monitoring/settings, rather than members of PATCH
 * /tenant: they belong to monitoring, and their defaults (90 % of the
 * plan's speed for 15 minutes; no monthly volume) apply until an admin
 * changes them.  null turns a check off.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "billing.h"
#include "buf.h"
#include "cache.h"
#include "config.h"
#include "fields.h"
#include "json.h"
#include "log.h"
#include "reply.h"
#include "routeros.h"
#include "store/customer.h"
#include "store/router.h"
#include "store/usage.h"
#include "store/user.h"
#include "usage.h"
#include "util.h"

#define DOWN_SECONDS 10 /* a router that failed is not tried again for this */

/* clang-format off */
const struct field monitoring_settings_fields[] = {
	{ "sustained_percent", FT_INT, 1, 100,     F_NULLABLE, NULL },
	{ "sustained_minutes", FT_INT, 1, 1440,    0,          NULL },
	{ "monthly_volume_gb", FT_INT, 1, 1000000, F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	MONITORING_F_PERCENT,
	MONITORING_F_MINUTES,
	MONITORING_F_VOLUME,
};

static const char *const periods[] = {"24h", "7d", "30d", NULL};

/* The query of GET /customers/{id}/usage (read by req_query()). */
struct usage_query {
	const char *period;
};

/* clang-format off */
static const struct filter_def usage_params[] = {
	FILTER_ENUM_(struct usage_query, period, periods,
	             "the span and its resolution; default 24h"),
	FILTER_END
};
/* clang-format on */

const struct list_spec monitoring_usage_query = {.filters = usage_params};

/*
 * The first bucket of period at now: level, since (UTC) and the bucket
 * width's name.  0 or -1.
 */
static int
period_start(const char *period, const char *tz, time_t now,
             enum usage_level *level, time_t *since, const char **interval)
{
	char today[BILLING_DATE_LEN], first[BILLING_DATE_LEN];
	time_t t;

	if (strcmp(period, "7d") == 0) {
		*level = USAGE_HOURLY;
		*interval = "1h";
		*since = usage_bucket(now, 3600) - 7 * 86400 + 3600;
		return 0;
	}
	if (strcmp(period, "30d") == 0) {
		*level = USAGE_DAILY;
		*interval = "1d";
		/* Today and the 29 local days before it. */
		if (billing_today(tz, now, today) < 0 ||
		    billing_day_start(tz, today, &t) < 0 ||
		    billing_today(tz, t - 29 * 86400 + 12 * 3600, first) < 0 ||
		    billing_day_start(tz, first, since) < 0)
			return -1;
		return 0;
	}
	*level = USAGE_5M;
	*interval = "5m";
	*since = usage_bucket(now, 300) - 86400 + 300;
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS" as RFC 3339 UTC, appended to b. */
static void
add_time(struct buf *b, const char *t)
{
	char out[40];

	row_time_rfc3339(t, out, sizeof(out));
	buf_addch(b, '"');
	buf_adds(b, out);
	buf_addch(b, '"');
}

/*
 * One point, written straight as JSON: a graph of 288 points is 2,300
 * values, which as a cJSON tree would cost more than the query.
 */
static void
add_point(struct buf *b, const struct usage_point *p)
{
	int64_t secs = p->secs > 0 ? p->secs : 0;

	buf_adds(b, "{\"at\":");
	add_time(b, p->at);
	buf_addf(b,
	         ",\"rx_bytes\":%" PRId64 ",\"tx_bytes\":%" PRId64
	         ",\"rx_bps\":%" PRId64 ",\"tx_bps\":%" PRId64
	         ",\"peak_rx_bps\":%" PRId64 ",\"peak_tx_bps\":%" PRId64
	         ",\"seconds\":%" PRId64 "}",
	         p->rx_bytes, p->tx_bytes, secs ? p->rx_bytes * 8 / secs : 0,
	         secs ? p->tx_bytes * 8 / secs : 0, p->peak_rx_bps,
	         p->peak_tx_bps, secs);
}

int
monitoring_usage(struct req *r)
{
	const char *tz = r->who_row ? r->who_row->tenant_timezone : NULL;
	struct usage_query q = {0};
	const char *period, *interval;
	char since_sql[24], from[32], to[32];
	int64_t total_rx = 0, total_tx = 0;
	enum usage_level level;
	time_t now = time(NULL), since;
	struct buf b = BUF_INIT(0);
	struct rows rs;
	size_t n = 0;
	int rc;

	if (req_query(r, usage_params, &q) < 0)
		return -1;
	period = q.period ? q.period : "24h";
	if (period_start(period, tz, now, &level, &since, &interval) < 0)
		return -1;
	utc_text(since, UTC_SQL, since_sql);
	if (store_usage_points(r->tdb, level, r->ids[0], since_sql, &rs) < 0)
		return -1;
	if (rs.n == 0)
		return req_fail(r, 404, "not_found", "customer not found");
	utc_text(since, UTC_RFC3339, from);
	utc_text(now, UTC_RFC3339, to);
	buf_addf(&b,
	         "{\"data\":{\"customer_id\":%" PRId64 ",\"period\":\"%s\","
	         "\"interval\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
	         "\"points\":[",
	         r->ids[0], period, interval, from, to);
	for (size_t i = 0; i < rs.n; i++) {
		const struct usage_point *p = rows_at(&rs, i);

		if (!p->at)
			continue; /* the customer, without data */
		if (n++)
			buf_addch(&b, ',');
		add_point(&b, p);
		total_rx += p->rx_bytes;
		total_tx += p->tx_bytes;
	}
	buf_addf(&b,
	         "],\"total_rx_bytes\":%" PRId64 ",\"total_tx_bytes\":%" PRId64
	         "}}",
	         total_rx, total_tx);
	rc = b.over ? -1 : req_raw(r, 200, b.s);
	buf_release(&b);
	return rc;
}

/* 503 for a router that cannot be read, remembered for DOWN_SECONDS. */
static int
router_down(struct req *r, const char *key, const char *why)
{
	char msg[300];

	if (key && r->cache)
		cache_set(r->cache, key, why, strlen(why), DOWN_SECONDS);
	snprintf(msg, sizeof(msg), "the router could not be read: %s", why);
	return req_fail(r, 503, "router_unreachable", arena_strdup(r->a, msg));
}

int
monitoring_realtime(struct req *r)
{
	const struct config *cfg = r->cfg;
	int budget = cfg->usage_realtime_timeout_ms;
	struct router_secret rt;
	struct customer c;
	struct ros_error err;
	struct ros_conn *conn;
	uint64_t rx = 0, tx = 0;
	char key[96], at[32];
	size_t len;
	char *why;
	cJSON *d;
	int rc;

	if (req_found(r, store_customer_get(r->tdb, r->ids[0], &c),
	              "customer") < 0)
		return -1;
	if (!c.router_id || !c.pppoe_username ||
	    store_router_secret(r->tdb, c.router_id, &rt) != 1) {
		if (tdb_last_error(r->tdb) != DBE_NONE)
			return -1;
		return req_fail(r, 409, "no_router",
		                "the customer has no router or PPPoE username");
	}
	snprintf(key, sizeof(key), "rtrw:router-down:%" PRId64 ":%" PRId64,
	         tdb_tenant(r->tdb), c.router_id);
	if (r->cache && cache_get(r->cache, r->a, key, &why, &len) == 1)
		return router_down(r, NULL, why);
	conn = usage_router_connect(cfg, &rt, budget / 2, budget / 4, 0, &err);
	if (!conn) {
		log_info("realtime read failed: router %" PRId64 ": %s",
		         c.router_id, ros_code_name(err.code));
		return router_down(r, key,
		                   err.code == ROS_ERR_AUTH
		                       ? "the router refused the login"
		                       : ros_code_name(err.code));
	}
	rc = usage_realtime(conn, r->a, c.pppoe_username, &rx, &tx, &err);
	ros_close(conn);
	if (rc < 0)
		return router_down(r, key, ros_code_name(err.code));
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	utc_text(time(NULL), UTC_RFC3339, at);
	json_add_int(d, "customer_id", c.id);
	json_add_int(d, "router_id", c.router_id);
	cJSON_AddStringToObject(d, "at", at);
	cJSON_AddBoolToObject(d, "online", rc == 1);
	json_add_int(d, "rx_bps", (int64_t)rx);
	json_add_int(d, "tx_bps", (int64_t)tx);
	return req_data(r, 200, d);
}

int
monitoring_overview(struct req *r)
{
	struct usage_overview ov;
	char at[32], polled[40];
	cJSON *d, *rs;

	if (usage_overview_get(r->tdb, r->a, &ov) < 0)
		return -1;
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	usage_overview_totals_json(d, &ov);
	json_add_int(d, "active_customers", ov.active_customers);
	rs = cJSON_AddArrayToObject(d, "routers");
	for (size_t i = 0; rs && i < ov.nrouters; i++) {
		const struct usage_overview_router *o = &ov.routers[i];
		char pct[24];
		cJSON *x = cJSON_CreateObject();

		if (!x) {
			cJSON_Delete(d);
			return -1;
		}
		json_add_int(x, "id", o->id);
		cJSON_AddStringToObject(x, "name", o->name);
		cJSON_AddStringToObject(x, "status", o->status);
		json_add_int(x, "capacity_kbps", o->capacity_kbps);
		json_add_int(x, "capacity_upload_kbps",
		             o->capacity_upload_kbps);
		cJSON_AddStringToObject(x, "capacity_source",
		                        o->capacity_source);
		json_add_int(x, "used_kbps", o->used_kbps);
		json_add_int(x, "used_upload_kbps", o->used_upload_kbps);
		usage_percent(o->used_kbps, o->capacity_kbps, pct);
		json_add_decimal(x, "usage_percent", pct);
		json_add_int(x, "sessions_online", o->sessions_online);
		json_add_int(x, "active_customers", o->active_customers);
		if (o->polled_at) {
			row_time_rfc3339(o->polled_at, polled, sizeof(polled));
			cJSON_AddStringToObject(x, "polled_at", polled);
		} else {
			cJSON_AddNullToObject(x, "polled_at");
		}
		cJSON_AddBoolToObject(x, "stale", !o->fresh);
		cJSON_AddItemToArray(rs, x);
	}
	utc_text(time(NULL), UTC_RFC3339, at);
	cJSON_AddStringToObject(d, "generated_at", at);
	return req_data(r, 200, d);
}

/* The tenant's thresholds, the defaults when it has not set any. */
static int
settings_load(struct req *r, struct usage_settings *s)
{
	int rc = store_usage_settings_get(r->tdb, s);

	if (rc == 0) {
		s->sustained_percent = USAGE_DEFAULT_PERCENT;
		s->sustained_minutes = USAGE_DEFAULT_MINUTES;
		s->monthly_volume_gb = 0;
		s->updated_at = NULL;
	}
	return rc < 0 ? -1 : 0;
}

int
monitoring_settings_get(struct req *r)
{
	struct usage_settings s;

	if (settings_load(r, &s) < 0)
		return -1;
	return reply_row(r, 200, &usage_settings_row, &s);
}

int
monitoring_settings_update(struct req *r)
{
	const struct fval *v = r->vals;
	struct usage_settings before, after;

	if (tdb_begin(r->tdb) < 0 || settings_load(r, &before) < 0)
		return -1;
	/* An empty change changes nothing: no row, no audit entry. */
	if (!v[MONITORING_F_PERCENT].present &&
	    !v[MONITORING_F_MINUTES].present && !v[MONITORING_F_VOLUME].present)
		return reply_commit(r, 200, &usage_settings_row, &before);
	after = before;
	if (v[MONITORING_F_PERCENT].present)
		after.sustained_percent = v[MONITORING_F_PERCENT].is_null
		                              ? 0
		                              : v[MONITORING_F_PERCENT].i;
	if (v[MONITORING_F_MINUTES].present)
		after.sustained_minutes = v[MONITORING_F_MINUTES].i;
	if (v[MONITORING_F_VOLUME].present)
		after.monthly_volume_gb = v[MONITORING_F_VOLUME].is_null
		                              ? 0
		                              : v[MONITORING_F_VOLUME].i;
	if (store_usage_settings_put(r->tdb, &after) < 0 ||
	    settings_load(r, &after) < 0 ||
	    req_record(r, "update", "monitoring_settings", 0,
	               &usage_settings_row, &before, &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &usage_settings_row, &after);
}
