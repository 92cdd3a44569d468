/*
 * GET /dashboard/stats: customers by status, revenue of this month and
 * the last (paid payments by payment_date, months in the tenant's time
 * zone), growth in percent (null when last month's revenue is 0), tickets
 * by status and bandwidth: the download figures of GET
 * /monitoring/overview (lib/usage.h).
 *
 * The whole response body is cached per tenant in memcached for
 * dashboard_cache_seconds (default 300), marked X-Cache: HIT or MISS.
 * Nothing invalidates it early: the figures may be that old, as API.md
 * allows.  Without memcached every request computes (MISS) and works;
 * dashboard_cache_seconds = 0 turns the cache off the same way (the
 * benchmark measures the uncached path with it).
 *
 * Uncached, the counts and revenue cost one statement of primary-key
 * reads (lib/store/dashboard.c) of rows that triggers keep:
 * customer_counts and payment_months (sql/mysql/0006), ticket_counts
 * (0016); the bandwidth figures are the overview's (usage_overview_get()).
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "billing.h"
#include "cache.h"
#include "config.h"
#include "json.h"
#include "money.h"
#include "store/dashboard.h"
#include "store/user.h"
#include "usage.h"
#include "util.h"

/* {"total", "pending", "active", "suspended", "terminated"}. */
static cJSON *
customer_counts(const struct customer_counts *n)
{
	cJSON *o = cJSON_CreateObject();

	json_add_int(o, "total",
	             n->pending + n->active + n->suspended + n->terminated);
	json_add_int(o, "pending", n->pending);
	json_add_int(o, "active", n->active);
	json_add_int(o, "suspended", n->suspended);
	json_add_int(o, "terminated", n->terminated);
	return o;
}

/* {"total", "open", "in_progress", "resolved", "closed"}. */
static cJSON *
ticket_counts(const struct ticket_counts *n)
{
	cJSON *o = cJSON_CreateObject();

	json_add_int(o, "total",
	             n->open + n->in_progress + n->resolved + n->closed);
	json_add_int(o, "open", n->open);
	json_add_int(o, "in_progress", n->in_progress);
	json_add_int(o, "resolved", n->resolved);
	json_add_int(o, "closed", n->closed);
	return o;
}

/* {"current_month", "previous_month", "growth_percent"}. */
static cJSON *
revenue(const char *current, const char *previous)
{
	char text[MONEY_STR_MAX];
	int64_t cur, last, growth;
	cJSON *o;

	if (money_parse(current, &cur) < 0 || money_parse(previous, &last) < 0)
		return NULL;
	o = cJSON_CreateObject();
	money_format(cur, text);
	json_add_decimal(o, "current_month", text);
	money_format(last, text);
	json_add_decimal(o, "previous_month", text);
	if (money_growth(cur, last, &growth)) {
		/* Hundredths of a percent, written as a decimal. */
		money_format(growth, text);
		json_add_decimal(o, "growth_percent", text);
	} else {
		cJSON_AddNullToObject(o, "growth_percent");
	}
	return o;
}

int
dashboard_stats(struct req *r)
{
	char prev[BILLING_DATE_LEN], start[BILLING_DATE_LEN];
	char next[BILLING_DATE_LEN];
	const char *current, *previous;
	char key[64], today[BILLING_DATE_LEN], at[32];
	struct customer_counts customers;
	struct ticket_counts tickets;
	struct usage_overview ov;
	time_t now = time(NULL);
	struct cache *cache = r->cache;
	cJSON *d, *rev, *bw;
	char *hit;
	size_t len;

	snprintf(key, sizeof(key), "rtrw:dashboard:%" PRId64,
	         tdb_tenant(r->tdb));
	if (!r->cfg->dashboard_cache_seconds)
		cache = NULL;
	if (cache && cache_get(cache, r->a, key, &hit, &len) == 1) {
		req_header(r, "X-Cache", "HIT");
		return req_raw(r, 200, hit);
	}
	if (billing_today(r->who_row ? r->who_row->tenant_timezone : NULL, now,
	                  today) < 0 ||
	    billing_month_bounds(today, prev, start, next) < 0 ||
	    store_dashboard_figures(r->tdb, start, prev, &customers, &tickets,
	                            &current, &previous) < 0 ||
	    usage_overview_get(r->tdb, r->a, &ov) < 0)
		return -1;
	rev = revenue(current, previous);
	if (!rev)
		return -1;
	d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "customers", customer_counts(&customers));
	cJSON_AddItemToObject(d, "revenue", rev);
	cJSON_AddItemToObject(d, "tickets", ticket_counts(&tickets));
	bw = cJSON_AddObjectToObject(d, "bandwidth");
	json_add_int(bw, "capacity_kbps", ov.capacity_kbps);
	json_add_int(bw, "used_kbps", ov.used_kbps);
	json_add_decimal(bw, "usage_percent", ov.usage_percent);
	utc_text(now, UTC_RFC3339, at);
	cJSON_AddStringToObject(d, "generated_at", at);
	cJSON_AddStringToObject(d, "as_of", today);
	if (req_data(r, 200, d) < 0)
		return -1;
	req_header(r, "X-Cache", "MISS");
	if (cache)
		cache_set(cache, key, r->body_out->s, r->body_out->len,
		          r->cfg->dashboard_cache_seconds);
	return 0;
}
