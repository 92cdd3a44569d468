/*
 * Service plans: the packages a tenant sells (speed, price, MikroTik
 * queue settings).  GET lists active plans unless include_inactive=true.
 * A change of price never touches what existing customers pay (they keep
 * their monthly_price snapshot); it is recorded in plan_price_history,
 * as is the price a plan was created with.  DELETE is a soft delete and
 * is refused with 409 in_use while a non-deleted customer has the plan.
 *
 * Burst settings follow RouterOS queues: per direction, burst_x (the
 * burst limit) must be above the base speed and burst_threshold_x below
 * it; the two come together, and burst_time (seconds) is required once
 * any burst is set.  The rules are checked on the merged row, so a PATCH
 * of the speed alone cannot leave an inconsistent burst behind.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "db.h"
#include "fields.h"
#include "json.h"
#include "money.h"
#include "store/store.h"
#include "util.h"

#define SPEED_MAX 10000000 /* kbps: 10 Gbit/s */

/* clang-format off */
const struct field plan_fields[] = {
	{ "name",                     FT_STRING, 1, 100,       F_REQUIRED | F_TEXT, NULL },
	{ "speed_download",           FT_INT,    1, SPEED_MAX, F_REQUIRED, NULL },
	{ "speed_upload",             FT_INT,    1, SPEED_MAX, F_REQUIRED, NULL },
	{ "price",                    FT_MONEY,  0, 0,         F_REQUIRED, NULL },
	{ "active",                   FT_BOOL,   0, 0,         0, NULL },
	{ "burst_download",           FT_INT,    1, SPEED_MAX, F_NULLABLE, NULL },
	{ "burst_upload",             FT_INT,    1, SPEED_MAX, F_NULLABLE, NULL },
	{ "burst_threshold_download", FT_INT,    1, SPEED_MAX, F_NULLABLE, NULL },
	{ "burst_threshold_upload",   FT_INT,    1, SPEED_MAX, F_NULLABLE, NULL },
	{ "burst_time",               FT_INT,    1, 3600,      F_NULLABLE, NULL },
	{ "priority",                 FT_INT,    1, 8,         0, NULL },
	{ "queue_type",               FT_STRING, 1, 32,        F_TEXT, NULL },
	{ "mikrotik_profile",         FT_STRING, 1, 64,        F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	P_NAME,
	P_SPEED_DOWN,
	P_SPEED_UP,
	P_PRICE,
	P_ACTIVE,
	P_BURST_DOWN,
	P_BURST_UP,
	P_THRESH_DOWN,
	P_THRESH_UP,
	P_BURST_TIME,
	P_PRIORITY,
	P_QUEUE_TYPE,
	P_PROFILE,
	P__N
};

/* The integer columns of a plan in field order; 0 stands for NULL. */
struct plan {
	const char *name, *price, *queue_type, *profile;
	int64_t n[P__N]; /* indexed by the P_* of the integer fields */
};

/* Columns of PLAN_COLS (lib/store/plan.c) for each field. */
static const int plan_col[P__N] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};

static const char *const plan_sorts[] = {
    "name",       "-name",          "price",
    "-price",     "speed_download", "-speed_download",
    "created_at", "-created_at",    "id",
    NULL,
};

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "service plan not found");
}

/* Fills p from row 0 of res (a PLAN_COLS row). */
static void
plan_from_row(struct plan *p, const struct dbres *res)
{
	memset(p, 0, sizeof(*p));
	for (int f = 0; f < P__N; f++) {
		const char *v = dbres_get(res, 0, (size_t)plan_col[f]);

		switch (f) {
		case P_NAME:
			p->name = v;
			break;
		case P_PRICE:
			p->price = v;
			break;
		case P_QUEUE_TYPE:
			p->queue_type = v;
			break;
		case P_PROFILE:
			p->profile = v;
			break;
		default:
			p->n[f] = dbres_int(res, 0, (size_t)plan_col[f]);
		}
	}
}

/* Lays the request's fields over p (null clears a nullable value). */
static void
plan_apply(struct plan *p, const struct fval *v)
{
	for (int f = 0; f < P__N; f++) {
		if (!v[f].present)
			continue;
		switch (f) {
		case P_NAME:
			p->name = v[f].s;
			break;
		case P_PRICE:
			p->price = v[f].s;
			break;
		case P_QUEUE_TYPE:
			p->queue_type = v[f].s;
			break;
		case P_PROFILE:
			p->profile = v[f].s;
			break;
		default:
			p->n[f] = v[f].is_null ? 0 : v[f].i;
		}
	}
}

/*
 * The RouterOS profile name a plan gets when none is given: the name in
 * lower case with runs of other characters turned into one '-'
 * ("Paket 10 Mbps" -> "paket-10-mbps").
 */
static const char *
default_profile(struct arena *a, const char *name)
{
	char out[65];
	size_t n = 0;

	for (const char *s = name; *s && n < sizeof(out) - 1; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[n++] = (char)c;
		else if (c >= 'A' && c <= 'Z')
			out[n++] = (char)(c - 'A' + 'a');
		else if (n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return arena_strdup(a, n ? out : "plan");
}

/* One direction's burst rules; adds details, returns 1 when bad. */
static int
check_burst(struct req *r, const struct plan *p, int speed, int burst,
            int thresh)
{
	int bad = 0;

	if (p->n[burst] && !p->n[thresh]) {
		req_detail(r, plan_fields[thresh].name,
		           arena_printf(r->a, "is required with %s",
		                        plan_fields[burst].name));
		bad = 1;
	}
	if (p->n[thresh] && !p->n[burst]) {
		req_detail(r, plan_fields[burst].name,
		           arena_printf(r->a, "is required with %s",
		                        plan_fields[thresh].name));
		bad = 1;
	}
	if (p->n[burst] && p->n[burst] <= p->n[speed]) {
		req_detail(r, plan_fields[burst].name,
		           arena_printf(r->a, "must be above %s",
		                        plan_fields[speed].name));
		bad = 1;
	}
	if (p->n[thresh] && p->n[thresh] >= p->n[speed]) {
		req_detail(r, plan_fields[thresh].name,
		           arena_printf(r->a, "must be below %s",
		                        plan_fields[speed].name));
		bad = 1;
	}
	return bad;
}

/* Checks the rules between fields; 0, or -1 after a 422. */
static int
plan_check(struct req *r, const struct plan *p)
{
	int bad = 0;

	bad |= check_burst(r, p, P_SPEED_DOWN, P_BURST_DOWN, P_THRESH_DOWN);
	bad |= check_burst(r, p, P_SPEED_UP, P_BURST_UP, P_THRESH_UP);
	if ((p->n[P_BURST_DOWN] || p->n[P_BURST_UP]) && !p->n[P_BURST_TIME]) {
		req_detail(r, "burst_time", "is required when a burst is set");
		bad = 1;
	}
	if (bad)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	return 0;
}

/* A nullable integer column's value: 0 is NULL. */
static struct dbv
nint(int64_t v)
{
	return v ? DBI(v) : DBNULL('i');
}

int
service_plans_list(struct req *r)
{
	const struct stmt_def *P = store_plan_stmts;
	int64_t page, per_page;
	int inactive;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, plan_sorts, &sort) < 0 ||
	    req_param_bool(r, "include_inactive", &inactive) < 0)
		return -1;
	inactive = inactive == 1;
	if (tdb_query_order(r->tdb, &P[PLAN_LIST], sort,
	                    DB_ARGS(DBI(inactive), DBI(per_page),
	                            DBI((page - 1) * per_page)),
	                    &rows) < 0 ||
	    tdb_query(r->tdb, &P[PLAN_COUNT], DB_ARGS(DBI(inactive)), &count) <
	        0)
		return -1;
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
service_plans_get(struct req *r)
{
	return req_get_one(r, &store_plan_stmts[PLAN_GET], NULL,
	                   "service plan not found");
}

int
service_plans_create(struct req *r)
{
	const struct stmt_def *P = store_plan_stmts;
	const struct fval *v = r->vals;
	struct dbres ins, res;
	struct plan p;
	int64_t id;
	cJSON *new;

	memset(&p, 0, sizeof(p));
	p.n[P_ACTIVE] = 1;
	p.n[P_PRIORITY] = 8;
	p.queue_type = "default";
	plan_apply(&p, v);
	if (!p.profile)
		p.profile = default_profile(r->a, p.name);
	if (!p.profile || plan_check(r, &p) < 0)
		return -1;
	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &P[PLAN_INSERT],
	              DB_ARGS(DBS(p.name), DBI(p.n[P_SPEED_DOWN]),
	                      DBI(p.n[P_SPEED_UP]), DBD(p.price),
	                      DBI(p.n[P_ACTIVE]), nint(p.n[P_BURST_DOWN]),
	                      nint(p.n[P_BURST_UP]), nint(p.n[P_THRESH_DOWN]),
	                      nint(p.n[P_THRESH_UP]), nint(p.n[P_BURST_TIME]),
	                      DBI(p.n[P_PRIORITY]), DBS(p.queue_type),
	                      DBS(p.profile)),
	              &ins) < 0)
		goto out_fail;
	id = (int64_t)ins.insert_id;
	if (tdb_query(r->tdb, &P[PLAN_HISTORY_INSERT],
	              DB_ARGS(DBI(id), DBNULL('d'), DBD(p.price),
	                      DBI(r->who.user_id)),
	              NULL) < 0 ||
	    tdb_query(r->tdb, &P[PLAN_GET], DB_ARGS(DBI(id)), &res) < 0 ||
	    res.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&res, 0, NULL));
	if (audit_req(r, "create", "service_plan", id, NULL, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&res, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
service_plans_update(struct req *r)
{
	const struct stmt_def *P = store_plan_stmts;
	int64_t id = r->ids[0], old_cents, new_cents;
	struct dbres before, after;
	struct plan p;
	cJSON *old, *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &P[PLAN_GET_LOCKED], DB_ARGS(DBI(id)), &before) <
	    0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	plan_from_row(&p, &before);
	plan_apply(&p, r->vals);
	if (plan_check(r, &p) < 0) {
		tdb_rollback(r->tdb);
		return -1;
	}
	if (money_parse(dbres_get(&before, 0, 4), &old_cents) < 0 ||
	    money_parse(p.price, &new_cents) < 0)
		goto out_fail;
	if (old_cents != new_cents &&
	    tdb_query(r->tdb, &P[PLAN_HISTORY_INSERT],
	              DB_ARGS(DBI(id), DBD(dbres_get(&before, 0, 4)),
	                      DBD(p.price), DBI(r->who.user_id)),
	              NULL) < 0)
		goto out_fail;
	if (tdb_query(r->tdb, &P[PLAN_UPDATE],
	              DB_ARGS(DBS(p.name), DBI(p.n[P_SPEED_DOWN]),
	                      DBI(p.n[P_SPEED_UP]), DBD(p.price),
	                      DBI(p.n[P_ACTIVE]), nint(p.n[P_BURST_DOWN]),
	                      nint(p.n[P_BURST_UP]), nint(p.n[P_THRESH_DOWN]),
	                      nint(p.n[P_THRESH_UP]), nint(p.n[P_BURST_TIME]),
	                      DBI(p.n[P_PRIORITY]), DBS(p.queue_type),
	                      DBS(p.profile), DBI(id)),
	              NULL) < 0 ||
	    tdb_query(r->tdb, &P[PLAN_GET], DB_ARGS(DBI(id)), &after) < 0 ||
	    after.nrows != 1)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (audit_req(r, "update", "service_plan", id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
service_plans_delete(struct req *r)
{
	const struct stmt_def *P = store_plan_stmts;
	int64_t id = r->ids[0], users;
	struct dbres before, use;
	cJSON *old;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &P[PLAN_GET_LOCKED], DB_ARGS(DBI(id)), &before) <
	    0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	if (tdb_query(r->tdb, &P[PLAN_IN_USE], DB_ARGS(DBI(id)), &use) < 0)
		goto out_fail;
	users = dbres_int(&use, 0, 0);
	if (users > 0) {
		tdb_rollback(r->tdb);
		return req_fail(r, 409, "in_use",
		                arena_printf(r->a,
		                             "%" PRId64 " customer(s) use this "
		                             "plan; move them to another "
		                             "plan first",
		                             users));
	}
	if (tdb_query(r->tdb, &P[PLAN_DELETE], DB_ARGS(DBI(id)), NULL) < 0)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	if (audit_req(r, "delete", "service_plan", id, old, NULL) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_no_content(r);
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
service_plans_price_history(struct req *r)
{
	const struct stmt_def *S = store_plan_stmts;

	return req_child_list(r, &S[PLAN_GET], &S[PLAN_HISTORY_LIST],
	                      &S[PLAN_HISTORY_COUNT], "service plan not found");
}
