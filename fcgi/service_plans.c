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
#include <string.h>

#include "arena.h"
#include "fields.h"
#include "log.h"
#include "money.h"
#include "nudge.h"
#include "provision.h"
#include "reply.h"
#include "store/plan.h"

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
	PLAN_F_NAME,
	PLAN_F_SPEED_DOWN,
	PLAN_F_SPEED_UP,
	PLAN_F_PRICE,
	PLAN_F_ACTIVE,
	PLAN_F_BURST_DOWN,
	PLAN_F_BURST_UP,
	PLAN_F_THRESH_DOWN,
	PLAN_F_THRESH_UP,
	PLAN_F_BURST_TIME,
	PLAN_F_PRIORITY,
	PLAN_F_QUEUE_TYPE,
	PLAN_F_PROFILE,
};

/* clang-format off */
static const struct filter_def plan_filters[] = {
	FILTER_BOOL_(struct plan_filter, include_inactive,
	             "also list plans that are not active"),
	FILTER_END
};
/* clang-format on */

const struct list_spec plan_list_spec = {
    .store = &store_plan_list,
    .filters = plan_filters,
};

static int
plan_exists(struct tdb *t, int64_t id)
{
	struct plan p;

	return store_plan_get(t, id, &p);
}

const struct list_spec plan_price_list_spec = {
    .store = &store_plan_price_list,
    .parent_get = plan_exists,
    .parent_off = offsetof(struct plan_price_filter, service_plan_id),
    .parent_what = "service plan",
};

/* The integer members of a plan, by field. */
static int64_t *
plan_int(struct plan *p, int f)
{
	switch (f) {
	case PLAN_F_SPEED_DOWN:
		return &p->speed_download;
	case PLAN_F_SPEED_UP:
		return &p->speed_upload;
	case PLAN_F_BURST_DOWN:
		return &p->burst_download;
	case PLAN_F_BURST_UP:
		return &p->burst_upload;
	case PLAN_F_THRESH_DOWN:
		return &p->burst_threshold_download;
	case PLAN_F_THRESH_UP:
		return &p->burst_threshold_upload;
	case PLAN_F_BURST_TIME:
		return &p->burst_time;
	case PLAN_F_PRIORITY:
		return &p->priority;
	default:
		return NULL;
	}
}

/* Lays the request's fields over p (null clears a nullable value). */
static void
plan_apply(struct plan *p, const struct fval *v)
{
	for (int f = 0; plan_fields[f].name; f++) {
		int64_t *n = plan_int(p, f);

		if (!v[f].present)
			continue;
		if (n)
			*n = v[f].is_null ? 0 : v[f].i;
		else if (f == PLAN_F_NAME)
			p->name = v[f].s;
		else if (f == PLAN_F_PRICE)
			p->price = v[f].s;
		else if (f == PLAN_F_ACTIVE)
			p->active = v[f].i != 0;
		else if (f == PLAN_F_QUEUE_TYPE)
			p->queue_type = v[f].s;
		else if (f == PLAN_F_PROFILE)
			p->mikrotik_profile = v[f].s;
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
check_burst(struct req *r, struct plan *p, int speed, int burst, int thresh)
{
	int64_t s = *plan_int(p, speed), b = *plan_int(p, burst);
	int64_t t = *plan_int(p, thresh);
	int bad = 0;

	if (b && !t) {
		req_detail(r, plan_fields[thresh].name,
		           arena_printf(r->a, "is required with %s",
		                        plan_fields[burst].name));
		bad = 1;
	}
	if (t && !b) {
		req_detail(r, plan_fields[burst].name,
		           arena_printf(r->a, "is required with %s",
		                        plan_fields[thresh].name));
		bad = 1;
	}
	if (b && b <= s) {
		req_detail(r, plan_fields[burst].name,
		           arena_printf(r->a, "must be above %s",
		                        plan_fields[speed].name));
		bad = 1;
	}
	if (t && t >= s) {
		req_detail(r, plan_fields[thresh].name,
		           arena_printf(r->a, "must be below %s",
		                        plan_fields[speed].name));
		bad = 1;
	}
	return bad;
}

/* Checks the rules between fields; 0, or -1 after a 422. */
static int
plan_check(struct req *r, struct plan *p)
{
	int bad = 0;

	bad |= check_burst(r, p, PLAN_F_SPEED_DOWN, PLAN_F_BURST_DOWN,
	                   PLAN_F_THRESH_DOWN);
	bad |= check_burst(r, p, PLAN_F_SPEED_UP, PLAN_F_BURST_UP,
	                   PLAN_F_THRESH_UP);
	if ((p->burst_download || p->burst_upload) && !p->burst_time) {
		req_detail(r, "burst_time", "is required when a burst is set");
		bad = 1;
	}
	if (bad)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	return 0;
}

int
service_plans_list(struct req *r)
{
	return reply_list(r, &plan_list_spec);
}

int
service_plans_get(struct req *r)
{
	struct plan p;

	if (req_found(r, store_plan_get(r->tdb, r->ids[0], &p),
	              "service plan") < 0)
		return -1;
	return reply_row(r, 200, &plan_row, &p);
}

int
service_plans_create(struct req *r)
{
	struct plan p = {.active = 1, .priority = 8, .queue_type = "default"};
	struct plan after;
	int64_t id;

	plan_apply(&p, r->vals);
	if (!p.mikrotik_profile)
		p.mikrotik_profile = default_profile(r->a, p.name);
	if (!p.mikrotik_profile || plan_check(r, &p) < 0 ||
	    tdb_begin(r->tdb) < 0)
		return -1;
	if (store_plan_insert(r->tdb, &p, r->who.user_id, &id) < 0 ||
	    store_plan_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "service_plan", id, &plan_row, NULL, &after,
	               NULL) < 0)
		return -1;
	return reply_commit(r, 201, &plan_row, &after);
}

/*
 * Commits a plan change and replies; when what the routers enforce
 * changed (speeds, burst, priority, profile name), every active or
 * suspended customer on a router gets a change_profile job (lib/
 * provision.h), queued after the plan's commit because customers lock
 * before plans.  Should that fail, the answer stands and the periodic
 * sync (rtrw-provision sync) repairs the profiles.
 */
static int
plan_committed(struct req *r, const struct plan *before,
               const struct plan *after)
{
	int64_t n = 0;
	int rc = reply_commit(r, 200, &plan_row, after);
	int routers_see =
	    before->speed_download != after->speed_download ||
	    before->speed_upload != after->speed_upload ||
	    before->burst_download != after->burst_download ||
	    before->burst_upload != after->burst_upload ||
	    before->burst_threshold_download !=
	        after->burst_threshold_download ||
	    before->burst_threshold_upload != after->burst_threshold_upload ||
	    before->burst_time != after->burst_time ||
	    before->priority != after->priority ||
	    strcmp(before->mikrotik_profile, after->mikrotik_profile) != 0;

	if (rc < 0 || !routers_see)
		return rc;
	if (provision_queue_plan(r->tdb, after->id, after->mikrotik_profile,
	                         &n) < 0)
		log_warn("plan %" PRId64 " changed, but its customers' "
		         "change_profile jobs were not queued; the periodic "
		         "sync repairs the profiles",
		         after->id);
	else if (n > 0)
		nudge_send(r->cfg);
	return rc;
}

int
service_plans_update(struct req *r)
{
	int64_t id = r->ids[0], old_cents, new_cents;
	struct plan before, p, after;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_plan_lock(r->tdb, id, &before), "service plan") <
	        0)
		return -1;
	p = before;
	plan_apply(&p, r->vals);
	if (plan_check(r, &p) < 0 ||
	    money_parse(before.price, &old_cents) < 0 ||
	    money_parse(p.price, &new_cents) < 0)
		return -1;
	if (old_cents != new_cents &&
	    store_plan_price_changed(r->tdb, id, before.price, p.price,
	                             r->who.user_id) < 0)
		return -1;
	if (store_plan_update(r->tdb, &p) < 0 ||
	    store_plan_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "update", "service_plan", id, &plan_row, &before,
	               &after, NULL) < 0)
		return -1;
	return plan_committed(r, &before, &after);
}

int
service_plans_delete(struct req *r)
{
	int64_t id = r->ids[0], users;
	struct plan before;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_plan_lock(r->tdb, id, &before), "service plan") <
	        0 ||
	    store_plan_users(r->tdb, id, &users) < 0)
		return -1;
	if (users > 0)
		return req_fail(r, 409, "in_use",
		                arena_printf(r->a,
		                             "%" PRId64 " customer(s) use this "
		                             "plan; move them to another "
		                             "plan first",
		                             users));
	if (store_plan_delete(r->tdb, id) < 0 ||
	    req_record(r, "delete", "service_plan", id, &plan_row, &before,
	               NULL, NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}

int
service_plans_price_history(struct req *r)
{
	return reply_list(r, &plan_price_list_spec);
}
