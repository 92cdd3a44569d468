/*
 * GET /dashboard/stats: customers by status, revenue of this month and
 * the last (paid payments by payment_date, months in the tenant's time
 * zone), growth in percent (null when last month's revenue is 0), tickets
 * by status and bandwidth (zeros until monitoring exists).
 *
 * The whole response body is cached per tenant in memcached for
 * dashboard_cache_seconds (default 300), marked X-Cache: HIT or MISS.
 * Nothing invalidates it early: the figures may be that old, as API.md
 * allows.  Without memcached every request computes (MISS) and works;
 * dashboard_cache_seconds = 0 turns the cache off the same way (the
 * benchmark measures the uncached path with it).
 *
 * Uncached, the figures cost three small reads: customer counts from the
 * customer_counts row and revenue from payment_months (both kept by
 * triggers, sql/mysql/0006), tickets from ix_tickets_tenant_status.
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
#include "db.h"
#include "json.h"
#include "money.h"
#include "store/store.h"

static const char *const customer_statuses[] = {
    "pending", "active", "suspended", "terminated", NULL};
static const char *const ticket_statuses[] = {"open", "in_progress", "resolved",
                                              "closed", NULL};

/* {"total": n, status: n...} from a (status, count) result. */
static cJSON *
by_status(const struct dbres *res, const char *const *statuses)
{
	cJSON *o = cJSON_CreateObject();
	int64_t total = 0;

	for (size_t i = 0; i < res->nrows; i++)
		total += dbres_int(res, i, 1);
	json_add_int(o, "total", total);
	for (size_t s = 0; statuses[s]; s++) {
		int64_t n = 0;

		for (size_t i = 0; i < res->nrows; i++)
			if (strcmp(dbres_get(res, i, 0), statuses[s]) == 0)
				n = dbres_int(res, i, 1);
		json_add_int(o, statuses[s], n);
	}
	return o;
}

/*
 * {"total": n, status: n...} from the one row of CUSTOMER_STATUS_COUNTS
 * (its columns in the order of customer_statuses; no row: all zero).
 */
static cJSON *
customer_counts(const struct dbres *res)
{
	cJSON *o = cJSON_CreateObject();
	int64_t total = 0;

	for (size_t s = 0; customer_statuses[s]; s++)
		total += res->nrows ? dbres_int(res, 0, s) : 0;
	json_add_int(o, "total", total);
	for (size_t s = 0; customer_statuses[s]; s++)
		json_add_int(o, customer_statuses[s],
		             res->nrows ? dbres_int(res, 0, s) : 0);
	return o;
}

static cJSON *
revenue(struct req *r, const char *today)
{
	char prev[BILLING_DATE_LEN], start[BILLING_DATE_LEN];
	char next[BILLING_DATE_LEN], text[MONEY_STR_MAX];
	int64_t cur, last, growth;
	struct dbres res;
	cJSON *o;

	if (billing_month_bounds(today, prev, start, next) < 0 ||
	    tdb_query(r->tdb, &store_dashboard_stmts[DASHBOARD_REVENUE],
	              DB_ARGS(DBS(start), DBS(start), DBS(prev), DBS(next)),
	              &res) < 0 ||
	    res.nrows != 1 || money_parse(dbres_get(&res, 0, 0), &cur) < 0 ||
	    money_parse(dbres_get(&res, 0, 1), &last) < 0)
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
	char key[64], today[BILLING_DATE_LEN], at[32];
	int col = r->who_row ? dbres_col(r->who_row, "tenant_timezone") : -1;
	struct dbres customers, tickets;
	time_t now = time(NULL);
	struct tm tm;
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
	if (billing_today(col >= 0 ? dbres_get(r->who_row, 0, (size_t)col)
	                           : NULL,
	                  now, today) < 0 ||
	    tdb_query(r->tdb, &store_customer_stmts[CUSTOMER_STATUS_COUNTS],
	              DB_NOARGS, &customers) < 0 ||
	    tdb_query(r->tdb, &store_dashboard_stmts[DASHBOARD_TICKETS],
	              DB_NOARGS, &tickets) < 0)
		return -1;
	rev = revenue(r, today);
	if (!rev)
		return -1;
	d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "customers", customer_counts(&customers));
	cJSON_AddItemToObject(d, "revenue", rev);
	cJSON_AddItemToObject(d, "tickets",
	                      by_status(&tickets, ticket_statuses));
	/* XXX zeros until the monitoring issue stores usage samples. */
	bw = cJSON_AddObjectToObject(d, "bandwidth");
	json_add_int(bw, "capacity_kbps", 0);
	json_add_int(bw, "used_kbps", 0);
	json_add_decimal(bw, "usage_percent", "0.00");
	gmtime_r(&now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
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
