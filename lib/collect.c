#include "collect.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "arena.h"
#include "audit.h"
#include "billing.h"
#include "buf.h"
#include "config.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "routeros.h"
#include "store/router.h"
#include "store/usage.h"
#include "usage.h"
#include "util.h"

/*
 * What one router's poll may hold: its replies (max_reply_bytes, about
 * 20,000 sessions' worth with the short property lists below) and what
 * its result costs to store.
 */
#define JOB_ARENA_CAP  (96u << 20)
#define REPLY_CAP      (32u << 20)
#define LIST_PAGE      1000
#define PURGE_BATCH    50000
#define AHEAD          2 /* partitions made ahead of the current one */
#define GB             INT64_C(1000000000)
#define STORE_ATTEMPTS 3 /* a router's store, when it loses a lock */

/* A /ppp/active row and a pppoe-in interface (the router's directions). */
struct sess {
	const char *id, *name;
	int64_t uptime;
};
struct iface {
	const char *name;
	uint64_t rx, tx;
};

struct job {
	struct job *next;
	int64_t router_id, tenant_id;
	int lead; /* the tenant's lowest router: this collector writes its event
	           */
	struct arena a;
	struct router_secret rt;
	/* The poll's outcome, filled by a poller thread. */
	int ok;
	struct ros_error err;
	int64_t uptime;
	const char *version;
	struct sess *sess;
	size_t nsess;
	struct iface *ifs;
	size_t nifs;
	int64_t poll_us;
	/* The last store attempt lost a deadlock or a lock wait: retried. */
	int lock_lost;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t todo_cv, done_cv;
	struct job *todo, **todo_tail, *done;
	int stop;
	const struct config *cfg;
	const struct collect_opts *o;
};

/* ---- the pollers --------------------------------------------------- */

static void
fail_job(struct job *j, enum ros_code code, const char *msg)
{
	memset(&j->err, 0, sizeof(j->err));
	j->err.code = code;
	j->err.category = -1;
	snprintf(j->err.message, sizeof(j->err.message), "%s", msg);
}

/* The rows of the three prints into the job; 0 or -1 (fail_job()). */
static int
parse_replies(struct job *j, const struct ros_result *res)
{
	const char *up;
	size_t n;

	up = res[0].items ? ros_item_get(res[0].items, "uptime") : NULL;
	if (!up || usage_parse_duration(up, &j->uptime) < 0) {
		fail_job(j, ROS_ERR_PROTOCOL,
		         "/system/resource answered without an uptime");
		return -1;
	}
	j->version = ros_item_get(res[0].items, "version");
	j->sess = arena_alloc(&j->a, (res[1].nitems + 1) * sizeof(*j->sess));
	j->ifs = arena_alloc(&j->a, (res[2].nitems + 1) * sizeof(*j->ifs));
	if (!j->sess || !j->ifs) {
		fail_job(j, ROS_ERR_PROTOCOL, "reply too large");
		return -1;
	}
	n = 0;
	for (const struct ros_item *it = res[1].items; it; it = it->next) {
		struct sess *s = &j->sess[n];
		const char *u = ros_item_get(it, "uptime");

		s->id = ros_item_get(it, ".id");
		s->name = ros_item_get(it, "name");
		/* A row without its keys is skipped, not guessed at. */
		if (!s->id || !s->name || !u ||
		    usage_parse_duration(u, &s->uptime) < 0 ||
		    strlen(s->id) > 32)
			continue;
		n++;
	}
	j->nsess = n;
	n = 0;
	for (const struct ros_item *it = res[2].items; it; it = it->next) {
		struct iface *f = &j->ifs[n];
		const char *rx = ros_item_get(it, "rx-byte");
		const char *tx = ros_item_get(it, "tx-byte");

		f->name = ros_item_get(it, "name");
		if (!f->name || !rx || !tx || usage_parse_u64(rx, &f->rx) < 0 ||
		    usage_parse_u64(tx, &f->tx) < 0)
			continue;
		n++;
	}
	j->nifs = n;
	return 0;
}

/*
 * One router: log in, pipeline the three prints on the connection, keep
 * what they said.  Touches nothing but the job.
 */
static void
poll_router(const struct pool *p, struct job *j)
{
	int64_t t0 = now_usec();
	struct ros_cmd *cmds[3];
	struct ros_result res[3];
	struct ros_conn *c;

	c = usage_router_connect(p->cfg, &j->rt, p->o->connect_ms,
	                         p->o->read_ms, REPLY_CAP, &j->err);
	if (!c)
		goto out;
	cmds[0] = ros_cmd_new(&j->a, "/system/resource/print");
	ros_cmd_attr(cmds[0], ".proplist", "uptime,version");
	cmds[1] = ros_cmd_new(&j->a, "/ppp/active/print");
	ros_cmd_attr(cmds[1], ".proplist", ".id,name,uptime");
	cmds[2] = ros_cmd_new(&j->a, "/interface/print");
	ros_cmd_query(cmds[2], "type", "pppoe-in");
	ros_cmd_attr(cmds[2], ".proplist", "name,rx-byte,tx-byte");
	if (ros_pipeline(c, cmds, 3, &j->a, res, &j->err) < 0)
		goto out_close;
	for (int i = 0; i < 3; i++) {
		if (res[i].status != ROS_OK) {
			char msg[200];

			snprintf(msg, sizeof(msg), "%s: %s",
			         i == 0   ? "/system/resource/print"
			         : i == 1 ? "/ppp/active/print"
			                  : "/interface/print",
			         ros_result_message(&res[i]));
			fail_job(j, res[i].status, msg);
			goto out_close;
		}
	}
	if (parse_replies(j, res) == 0)
		j->ok = 1;
out_close:
	ros_close(c);
out:
	j->poll_us = now_usec() - t0;
}

static void *
poller(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->mu);
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->todo_cv, &p->mu);
		if (!p->todo) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = &p->todo;
		pthread_mutex_unlock(&p->mu);

		poll_router(p, j);

		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		pthread_cond_signal(&p->done_cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* ---- storing a router's result ---------------------------------------- */

/* "YYYY-MM-DD HH:MM:SS" (UTC) to an instant; 0 or -1. */
static int
parse_time(const char *s, time_t *out)
{
	char iso[24];

	if (!s || strlen(s) < 19)
		return -1;
	snprintf(iso, sizeof(iso), "%.10sT%.8sZ", s, s + 11);
	return billing_parse_instant(iso, out);
}

/* The router's status columns, as the router:status event shows them. */
static cJSON *
status_view(const struct router *r, const char *previous)
{
	cJSON *v = cJSON_CreateObject();
	char when[40];

	if (!v)
		return NULL;
	json_add_int(v, "router_id", r->id);
	cJSON_AddStringToObject(v, "name", r->name);
	cJSON_AddStringToObject(v, "host", r->host);
	if (previous)
		cJSON_AddStringToObject(v, "previous_status", previous);
	cJSON_AddStringToObject(v, "status", r->status);
	if (r->last_seen) {
		row_time_rfc3339(r->last_seen, when, sizeof(when));
		cJSON_AddStringToObject(v, "last_seen", when);
	} else {
		cJSON_AddNullToObject(v, "last_seen");
	}
	json_add_str_or_null(v, "last_error", r->last_error);
	return v;
}

/*
 * Records reachability in the caller's transaction: status and last_seen
 * (store_router_set_seen(), as the provisioning daemon does), and on a
 * change the router:status event, the audit entry, and the router_offline
 * alert raised (mailing the admins when it opens) or resolved.  The row
 * is locked first, so that of two writers only one sees the change.
 * 0 or -1; a router deleted meanwhile is 0.
 */
static int
record_status(struct tdb *t, const struct job *j, int ok, const char *error,
              struct collect_totals *tot)
{
	struct router_seen seen = {.status = ok ? "online" : "offline",
	                           .routeros_version = ok ? j->version : NULL,
	                           .last_error = ok ? NULL : error};
	struct router before, after;
	struct audit_entry e;
	char subject[24], msg[400];
	cJSON *old = NULL, *ev = NULL;
	int rc;

	rc = store_router_lock(t, j->router_id, &before);
	if (rc <= 0)
		return rc;
	if (store_router_set_seen(t, j->router_id, &seen) < 0)
		return -1;
	if (strcmp(before.status, seen.status) == 0)
		return 0;
	rc = -1;
	if (store_router_get(t, j->router_id, &after) != 1)
		goto out;
	ev = status_view(&after, before.status);
	old = cJSON_CreateObject();
	if (!ev || !old)
		goto out;
	cJSON_AddStringToObject(old, "status", before.status);
	if (event_emit(t, "router:status", "router", j->router_id, ev) < 0)
		goto out;
	memset(&e, 0, sizeof(e));
	e.action = "status";
	e.entity_type = "router";
	e.entity_id = j->router_id;
	e.old_values = old;
	e.new_values = ev;
	e.user_agent = "rtrw-monitor";
	if (audit_write(t, &e) < 0)
		goto out;
	snprintf(subject, sizeof(subject), "%" PRId64, j->router_id);
	if (!ok) {
		snprintf(msg, sizeof(msg), "router \"%s\" (%s) is offline: %s",
		         after.name, after.host, error ? error : "unreachable");
		switch (alert_raise(t, "router_offline", "router", subject, msg,
		                    ev)) {
		case 1:
			tot->alerts_raised++;
			/*
			 * The device_offline template: a router is the
			 * device that went away (requirement 17.4), once
			 * per opened alert.  Its name and host fill name
			 * and ip_address; a router has no location, so
			 * the template's location stays empty.
			 */
			cJSON_AddStringToObject(ev, "ip_address", after.host);
			cJSON_AddStringToObject(ev, "kind", "router");
			if (notify_admins(t, "device_offline", ev, NULL) < 0)
				goto out;
			break;
		case 0:
			break;
		default:
			goto out;
		}
	} else {
		int r = alert_resolve(t, "router_offline", "router", subject);

		if (r < 0)
			goto out;
		tot->alerts_resolved += r;
	}
	rc = 0;
out:
	cJSON_Delete(old);
	cJSON_Delete(ev);
	return rc;
}

/*
 * A high_usage alert to raise or resolve once the batch is written.  It
 * mails nobody: the mailer has no template key for high usage (API.md's
 * keys), and one is not invented here; the alert shows in GET /alerts and
 * as alert:created.
 */
struct alert_op {
	const struct usage_customer *c;
	int raise, volume;
	char month[8];
	uint64_t rx_bps, tx_bps, bytes;
};

static int
apply_alert(struct tdb *t, const struct alert_op *op,
            const struct usage_limits *st, struct collect_totals *tot)
{
	char subject[48], msg[400];
	cJSON *d;
	int rc;

	if (op->volume)
		snprintf(subject, sizeof(subject), "%" PRId64 ":%s", op->c->id,
		         op->month);
	else
		snprintf(subject, sizeof(subject), "%" PRId64, op->c->id);
	if (!op->raise) {
		rc = alert_resolve(t, "high_usage",
		                   op->volume ? "customer_month" : "customer",
		                   subject);
		if (rc > 0)
			tot->alerts_resolved++;
		return rc < 0 ? -1 : 0;
	}
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	json_add_int(d, "customer_id", op->c->id);
	cJSON_AddStringToObject(d, "kind",
	                        op->volume ? "monthly_volume" : "sustained");
	if (op->volume) {
		cJSON_AddStringToObject(d, "month", op->month);
		json_add_int(d, "bytes", (int64_t)op->bytes);
		json_add_int(d, "monthly_volume_gb", st->volume_gb);
		snprintf(msg, sizeof(msg),
		         "customer %" PRId64 " (%s) used %" PRIu64
		         " bytes in %s, over the monthly %" PRId64 " GB",
		         op->c->id, op->c->pppoe_username, op->bytes, op->month,
		         st->volume_gb);
	} else {
		json_add_int(d, "percent", st->percent);
		json_add_int(d, "minutes", st->minutes);
		json_add_int(d, "rx_bps", (int64_t)op->rx_bps);
		json_add_int(d, "tx_bps", (int64_t)op->tx_bps);
		json_add_int(d, "plan_download_kbps", op->c->speed_download);
		json_add_int(d, "plan_upload_kbps", op->c->speed_upload);
		snprintf(
		    msg, sizeof(msg),
		    "customer %" PRId64 " (%s) has used %" PRId64
		    "%% or more of the plan's speed for %" PRId64 " minutes",
		    op->c->id, op->c->pppoe_username, st->percent, st->minutes);
	}
	rc = alert_raise(t, "high_usage",
	                 op->volume ? "customer_month" : "customer", subject,
	                 msg, d);
	cJSON_Delete(d);
	if (rc > 0)
		tot->alerts_raised++;
	return rc < 0 ? -1 : 0;
}

static int
cmp_customer(const void *a, const void *b)
{
	const struct usage_customer *x =
	    *(const struct usage_customer *const *)a;
	const struct usage_customer *y =
	    *(const struct usage_customer *const *)b;

	return strcmp(x->pppoe_username, y->pppoe_username);
}

static int
cmp_iface(const void *a, const void *b)
{
	return strcmp(((const struct iface *)a)->name,
	              ((const struct iface *)b)->name);
}

/* The customer called name, from the sorted index, or NULL. */
static const struct usage_customer *
find_customer(struct usage_customer **idx, size_t n, const char *name,
              size_t *pos)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(idx[mid]->pppoe_username, name);

		if (c == 0) {
			*pos = mid;
			return idx[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct iface *
find_iface(const struct job *j, const char *session_name)
{
	char name[160];
	struct iface key;

	snprintf(name, sizeof(name), "<pppoe-%s>", session_name);
	key.name = name;
	return bsearch(&key, j->ifs, j->nifs, sizeof(*j->ifs), cmp_iface);
}

/* One state row: what usage_sessions keeps of a customer. */
static void
add_state(struct buf *b, const struct usage_customer *c, int64_t router_id,
          const char *sid, int64_t uptime, uint64_t rx, uint64_t tx, int online,
          uint64_t rx_bps, uint64_t tx_bps, int64_t hot, int64_t cool,
          int episode, const char *month, uint64_t mbytes, int malerted)
{
	if (b->len > 1)
		buf_addch(b, ',');
	buf_addf(b, "[%" PRId64 ",%" PRId64 ",", c->id, router_id);
	json_write_string(b, sid, strlen(sid));
	buf_addf(b,
	         ",%" PRId64 ",\"%" PRIu64 "\",\"%" PRIu64 "\",%d,%" PRIu64
	         ",%" PRIu64 ",%" PRId64 ",%" PRId64 ",%d,",
	         uptime, rx, tx, online, rx_bps, tx_bps, hot, cool, episode);
	json_write_string(b, month, strlen(month));
	buf_addf(b, ",%" PRIu64 ",%d]", mbytes, malerted);
}

/* The tenant's thresholds from the router's info row. */
static void
settings_of(const struct usage_router_info *info, struct usage_limits *st)
{
	st->percent = info->has_settings ? info->sustained_percent
	                                 : USAGE_DEFAULT_PERCENT;
	st->minutes = info->has_settings && info->sustained_minutes > 0
	                  ? info->sustained_minutes
	                  : USAGE_DEFAULT_MINUTES;
	st->volume_gb = info->has_settings ? info->monthly_volume_gb : 0;
}

/*
 * Rolls back a failed store, noting first whether it failed on a lock.
 * Collectors storing routers of one tenant at once take the tenant's
 * audit chain (every event_emit()) and alert rows in different orders (a
 * high_usage alert before the router's status event, a router_offline
 * alert after it), so InnoDB may pick one of them as a deadlock victim;
 * the cycle then stores that router again (STORE_ATTEMPTS) instead of
 * losing its minute.
 */
static void
store_rollback(struct tdb *t, struct job *j)
{
	j->lock_lost = tdb_last_error(t) == DBE_LOCK;
	tdb_rollback(t);
}

/* Stores a router that could not be read. */
static int
store_failure(struct tdb *t, struct job *j, struct collect_totals *tot)
{
	struct usage_router_done d = {.router_id = j->router_id, .ok = 0};

	if (tdb_begin(t) < 0 || store_usage_router_done(t, &d) < 0 ||
	    record_status(t, j, 0, j->err.message, tot) < 0 ||
	    tdb_commit(t) < 0) {
		store_rollback(t, j);
		return -1;
	}
	return 0;
}

/* Stores a router's readings in one transaction; 0 or -1. */
static int
store_readings(struct tdb *t, const struct config *cfg, struct job *j,
               const struct usage_router_info *info, time_t now,
               struct collect_totals *tot)
{
	struct arena *a = &j->a;
	struct buf samples = BUF_INIT(0), states = BUF_INIT(0);
	struct usage_customer **idx;
	struct usage_limits st;
	struct usage_buckets bk;
	struct alert_op *ops;
	size_t nops = 0, nsamples = 0, nstates = 0;
	char today[BILLING_DATE_LEN], key[8], read_at[24];
	char minute[24], five[24], hour[24], day[24];
	int64_t elapsed = -1, need;
	uint64_t rx_sum = 0, tx_sum = 0, limit;
	int64_t active = 0, plan_down = 0, plan_up = 0;
	int rebooted = 0, rc = -1;
	time_t day0;
	struct rows cs;
	char *seen;

	if (store_usage_router_customers(t, j->router_id, &cs) < 0)
		return -1;
	settings_of(info, &st);
	need = st.percent > 0 ? st.minutes * 60 : 0;
	limit = (uint64_t)st.volume_gb * (uint64_t)GB;
	if (billing_today(info->timezone, now, today) < 0 ||
	    billing_day_start(info->timezone, today, &day0) < 0)
		return -1;
	snprintf(key, sizeof(key), "%.7s", today);
	utc_text(now, UTC_SQL, read_at);
	utc_text(usage_bucket(now, 60), UTC_SQL, minute);
	utc_text(usage_bucket(now, 300), UTC_SQL, five);
	utc_text(usage_bucket(now, 3600), UTC_SQL, hour);
	utc_text(day0, UTC_SQL, day);
	bk = (struct usage_buckets){minute, five, hour, day};
	if (info->router_uptime > 0) {
		elapsed = j->uptime - info->router_uptime;
		if (elapsed < 0) {
			/* Rebooted: everything it counts is since then. */
			rebooted = 1;
			elapsed = j->uptime;
		}
	}

	idx = arena_alloc(a, (cs.n + 1) * sizeof(*idx));
	seen = arena_zalloc(a, cs.n + 1);
	/*
	 * At most three alert changes per customer per reading: its
	 * episode, last month's volume alert resolved, this month's raised.
	 */
	ops = arena_alloc(a, (3 * cs.n + 1) * sizeof(*ops));
	if (!idx || !seen || !ops)
		return -1;
	for (size_t i = 0; i < cs.n; i++) {
		idx[i] = rows_at(&cs, i);
		/* The overview's capacity: the active customers' plans. */
		if (strcmp(idx[i]->status, "active") == 0) {
			active++;
			plan_down += idx[i]->plan_download;
			plan_up += idx[i]->plan_upload;
		}
	}
	qsort(idx, cs.n, sizeof(*idx), cmp_customer);
	qsort(j->ifs, j->nifs, sizeof(*j->ifs), cmp_iface);
	buf_addch(&samples, '[');
	buf_addch(&states, '[');

	for (size_t i = 0; i < j->nsess; i++) {
		const struct sess *s = &j->sess[i];
		const struct usage_customer *c;
		const struct iface *f;
		struct usage_reading now_r;
		struct usage_last last;
		struct usage_delta d;
		int64_t hot, cool;
		int episode, alerted, m;
		uint64_t mbytes;
		char month[8], prev[8];
		size_t pos;

		c = find_customer(idx, cs.n, s->name, &pos);
		if (!c || seen[pos])
			continue;
		tot->matched++;
		f = find_iface(j, s->name);
		if (!f)
			continue;
		seen[pos] = 1;
		/* The router's tx is the customer's download. */
		now_r = (struct usage_reading){s->id, s->uptime, f->tx, f->rx};
		memset(&last, 0, sizeof(last));
		if (c->session_id &&
		    usage_parse_u64(c->rx_counter, &last.rx) == 0 &&
		    usage_parse_u64(c->tx_counter, &last.tx) == 0) {
			last.known = 1;
			last.session_id = c->session_id;
			last.uptime = c->session_uptime;
		}
		usage_delta(&last, &now_r, elapsed, rebooted,
		            (uint64_t)cfg->usage_max_bps, &d);
		tot->kinds[d.kind]++;
		hot = c->hot_seconds;
		cool = c->cool_seconds;
		episode = c->episode > 0;
		if (d.secs > 0) {
			int over =
			    usage_over(d.rx_bps, c->speed_download,
			               st.percent) ||
			    usage_over(d.tx_bps, c->speed_upload, st.percent);

			if (nsamples++)
				buf_addch(&samples, ',');
			buf_addf(&samples,
			         "[%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%" PRId64
			         ",%" PRIu64 ",%" PRIu64 "]",
			         c->id, d.rx_bytes, d.tx_bytes, d.secs,
			         d.rx_bps, d.tx_bps);
			rx_sum += d.rx_bps;
			tx_sum += d.tx_bps;
			m = usage_sustained_step(&hot, &cool, &episode, over,
			                         d.secs, need);
			if (m)
				ops[nops++] = (struct alert_op){
				    c,        m == USAGE_ALERT_RAISE,
				    0,        "",
				    d.rx_bps, d.tx_bps,
				    0};
		}
		snprintf(month, sizeof(month), "%s", c->month ? c->month : "");
		mbytes = c->month_bytes > 0 ? (uint64_t)c->month_bytes : 0;
		alerted = c->month_alerted > 0;
		m = usage_month_step(month, &mbytes, &alerted, key,
		                     d.rx_bytes + d.tx_bytes, limit, prev);
		if (m & USAGE_ALERT_RESOLVE) {
			ops[nops] = (struct alert_op){c, 0, 1, "", 0, 0, 0};
			snprintf(ops[nops++].month, 8, "%s", prev);
		}
		if (m & USAGE_ALERT_RAISE) {
			ops[nops] =
			    (struct alert_op){c, 1, 1, "", 0, 0, mbytes};
			snprintf(ops[nops++].month, 8, "%s", month);
		}
		add_state(&states, c, j->router_id, s->id, s->uptime, now_r.rx,
		          now_r.tx, 1, d.rx_bps, d.tx_bps, hot, cool, episode,
		          month, mbytes, alerted);
		nstates++;
	}

	/*
	 * Customers no longer online: their state says so, and an open
	 * episode cools down by the time since their last reading.
	 */
	for (size_t i = 0; i < cs.n; i++) {
		const struct usage_customer *c = idx[i];
		int64_t hot = c->hot_seconds, cool = c->cool_seconds, secs = 0;
		int episode = c->episode > 0, alerted = c->month_alerted > 0, m;
		uint64_t mbytes =
		    c->month_bytes > 0 ? (uint64_t)c->month_bytes : 0;
		uint64_t rx, tx;
		char month[8], prev[8];
		time_t then;

		if (seen[i] || !c->session_id ||
		    (c->online <= 0 && !episode &&
		     !(alerted && c->month && strcmp(c->month, key) != 0)))
			continue;
		if (usage_parse_u64(c->rx_counter, &rx) < 0 ||
		    usage_parse_u64(c->tx_counter, &tx) < 0)
			continue;
		if (parse_time(c->read_at, &then) == 0 && now > then)
			secs = now - then;
		m = usage_sustained_step(&hot, &cool, &episode, 0, secs, need);
		if (m)
			ops[nops++] = (struct alert_op){c, 0, 0, "", 0, 0, 0};
		snprintf(month, sizeof(month), "%s", c->month ? c->month : "");
		m = usage_month_step(month, &mbytes, &alerted, key, 0, limit,
		                     prev);
		if (m & USAGE_ALERT_RESOLVE) {
			ops[nops] = (struct alert_op){c, 0, 1, "", 0, 0, 0};
			snprintf(ops[nops++].month, 8, "%s", prev);
		}
		add_state(&states, c, j->router_id, c->session_id,
		          c->session_uptime, rx, tx, 0, 0, 0, hot, cool,
		          episode, month, mbytes, alerted);
		nstates++;
	}
	buf_addch(&samples, ']');
	buf_addch(&states, ']');
	if (samples.over || states.over) {
		log_error("usage batch too large: router %" PRId64,
		          j->router_id);
		goto out;
	}

	if (tdb_begin(t) < 0)
		goto out;
	{
		struct usage_router_done done = {
		    .router_id = j->router_id,
		    .ok = 1,
		    .router_uptime = j->uptime,
		    .sessions_online = (int64_t)j->nsess,
		    .rx_bps = (int64_t)rx_sum,
		    .tx_bps = (int64_t)tx_sum,
		    .active_customers = active,
		    .plan_download_kbps = plan_down,
		    .plan_upload_kbps = plan_up,
		};

		if ((nsamples && store_usage_add(t, samples.s, &bk) < 0) ||
		    (nstates &&
		     store_usage_sessions_put(t, states.s, read_at) < 0) ||
		    store_usage_router_done(t, &done) < 0)
			goto out_rollback;
	}
	for (size_t i = 0; i < nops; i++)
		if (apply_alert(t, &ops[i], &st, tot) < 0)
			goto out_rollback;
	if (record_status(t, j, 1, NULL, tot) < 0 || tdb_commit(t) < 0)
		goto out_rollback;
	tot->samples += (long)nsamples;
	tot->rows += (long)(4 * nsamples + nstates);
	rc = 0;
	goto out;
out_rollback:
	store_rollback(t, j);
out:
	buf_release(&samples);
	buf_release(&states);
	return rc;
}

static int
store_job(struct db *db, const struct config *cfg, const struct collect_opts *o,
          struct job *j, struct collect_totals *tot)
{
	struct tdb *t = tdb_open(db, &j->a, j->tenant_id);
	struct usage_router_info info;
	time_t now = o->now ? o->now : time(NULL);
	int rc;

	if (!t)
		return -1;
	rc = store_usage_router_info(t, j->router_id, &info);
	if (rc <= 0)
		return rc; /* deleted meanwhile: nothing to store */
	if (!info.timezone)
		info.timezone = "UTC";
	if (!j->ok) {
		tot->offline++;
		log_info("router offline: tenant %" PRId64 " router %" PRId64
		         " (%s): %s",
		         j->tenant_id, j->router_id, ros_code_name(j->err.code),
		         j->err.message);
		return store_failure(t, j, tot);
	}
	tot->online++;
	tot->sessions += (long)j->nsess;
	return store_readings(t, cfg, j, &info, now, tot);
}

/* ---- the cycle ----------------------------------------------------- */

struct target {
	int64_t id, tenant_id;
	int lead;
};

static int
cmp_target(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	if (x->tenant_id != y->tenant_id)
		return x->tenant_id < y->tenant_id ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
cmp_target_id(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every live router to poll, in id order, leads marked; NULL on error. */
static struct target *
list_targets(struct db *db, const struct collect_opts *o, size_t *n)
{
	struct target *v = NULL;
	size_t len = 0, cap = 0;
	int64_t after = 0;
	struct arena a;

	arena_init(&a, 0);
	for (;;) {
		struct tdb *t = o->tenant ? tdb_open(db, &a, o->tenant) : NULL;
		struct rows page;
		int q = o->tenant
		            ? (t ? store_router_live(t, after, LIST_PAGE, &page)
		                 : -1)
		            : store_router_all_live(db, &a, after, LIST_PAGE,
		                                    &page);

		if (q < 0) {
			free(v);
			arena_release(&a);
			return NULL;
		}
		for (size_t i = 0; i < page.n; i++) {
			const struct router_ref *r = rows_at(&page, i);

			if (len == cap) {
				cap = cap ? cap * 2 : 64;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[len++] = (struct target){r->id, r->tenant_id, 0};
			after = r->id;
		}
		arena_reset(&a);
		if (page.n < LIST_PAGE)
			break;
	}
	arena_release(&a);
	if (len) {
		qsort(v, len, sizeof(*v), cmp_target);
		for (size_t i = 0; i < len; i++)
			v[i].lead =
			    i == 0 || v[i].tenant_id != v[i - 1].tenant_id;
		qsort(v, len, sizeof(*v), cmp_target_id);
	}
	*n = len;
	return v ? v : xcalloc(1, sizeof(*v));
}

/* The tenant's monitoring:update event: the overview in short. */
static int
emit_update(struct db *db, int64_t tenant_id, time_t now)
{
	struct usage_overview ov;
	char at[40], when[24];
	struct arena a;
	struct tdb *t;
	cJSON *d = NULL, *rs;
	int rc = -1;

	arena_init(&a, 0);
	t = tdb_open(db, &a, tenant_id);
	if (!t || usage_overview_get(t, &a, &ov) < 0)
		goto out;
	d = cJSON_CreateObject();
	if (!d)
		goto out;
	utc_text(now, UTC_SQL, when);
	row_time_rfc3339(when, at, sizeof(at));
	cJSON_AddStringToObject(d, "at", at);
	usage_overview_totals_json(d, &ov);
	rs = cJSON_AddArrayToObject(d, "routers");
	for (size_t i = 0; rs && i < ov.nrouters; i++) {
		const struct usage_overview_router *r = &ov.routers[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			goto out;
		json_add_int(o, "id", r->id);
		cJSON_AddStringToObject(o, "status", r->status);
		json_add_int(o, "used_kbps", r->used_kbps);
		json_add_int(o, "used_upload_kbps", r->used_upload_kbps);
		json_add_int(o, "sessions_online", r->sessions_online);
		cJSON_AddItemToArray(rs, o);
	}
	if (tdb_begin(t) < 0)
		goto out;
	if (event_emit(t, "monitoring:update", "tenant", tenant_id, d) < 0 ||
	    tdb_commit(t) < 0) {
		tdb_rollback(t);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(d);
	arena_release(&a);
	return rc;
}

/* Partition upkeep of the four levels and the purge; 0 or -1. */
static int
maintain(struct db *db, const struct config *cfg, time_t now)
{
	const struct {
		const char *table;
		int days;
		int64_t keep_hours;
	} levels[] = {
	    {"usage_raw", 1, cfg->usage_raw_hours},
	    {"usage_5m", 1, (int64_t)cfg->usage_5m_days * 24},
	    {"usage_hourly", 7, (int64_t)cfg->usage_hourly_days * 24},
	    {"usage_daily", 30, (int64_t)cfg->usage_daily_days * 24},
	};
	char when[24];
	struct arena a;
	int rc = 0;

	utc_text(now, UTC_SQL, when);
	arena_init(&a, 0);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (store_usage_partitions(db, &a, levels[i].table, when,
		                           levels[i].days, levels[i].keep_hours,
		                           AHEAD) < 0) {
			log_error("usage partitions failed: '%s'",
			          levels[i].table);
			rc = -1;
		}
	}
	if (store_usage_purge(db, &a, PURGE_BATCH) < 0) {
		log_error("usage purge failed");
		rc = -1;
	}
	arena_release(&a);
	return rc;
}

int
collect_usage(const struct config *cfg, const struct collect_opts *o,
              struct collect_totals *tot)
{
	int64_t t0 = now_usec(), deadline = t0 + o->deadline_ms * 1000;
	struct pool p;
	pthread_t *threads = NULL;
	struct target *targets;
	int64_t *leads = NULL;
	size_t n = 0, next = 0, inflight = 0, nthreads = 0, nleads = 0;
	struct db *db;
	char err[256];
	time_t now;
	int rc = 0;

	memset(tot, 0, sizeof(*tot));
	db = db_open(cfg, DB_ACCOUNT_APP, err, sizeof(err));
	if (!db) {
		log_error("usage collection start failed: %s", err);
		return -1;
	}
	targets = list_targets(db, o, &n);
	if (!targets) {
		log_error("usage collection start failed: the router list "
		          "did not load");
		db_close(db);
		return -1;
	}
	tot->routers = (long)n;
	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.todo_cv, NULL);
	pthread_cond_init(&p.done_cv, NULL);
	p.todo_tail = &p.todo;
	p.cfg = cfg;
	p.o = o;
	nthreads = o->concurrency < n ? o->concurrency : n;
	threads = xcalloc(nthreads + 1, sizeof(*threads));
	leads = xcalloc(n + 1, sizeof(*leads));
	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i], NULL, poller, &p) != 0) {
			log_error("usage collection: thread start failed");
			nthreads = i;
			break;
		}
	}
	if (nthreads == 0 && n > 0)
		rc = 1;

	while (nthreads > 0 && (next < n || inflight > 0)) {
		struct job *j;

		/* Claim just in time: collectors started together share. */
		while (inflight < nthreads && next < n &&
		       now_usec() < deadline) {
			const struct target *tg = &targets[next++];
			struct tdb *t;
			int got;

			j = xcalloc(1, sizeof(*j));
			arena_init(&j->a, JOB_ARENA_CAP);
			j->router_id = tg->id;
			j->tenant_id = tg->tenant_id;
			j->lead = tg->lead;
			t = tdb_open(db, &j->a, tg->tenant_id);
			got = t ? store_usage_claim(t, tg->id, o->owner,
			                            o->gap_ms)
			        : -1;
			if (got == 1)
				got = store_router_secret(t, tg->id, &j->rt);
			if (got != 1) {
				if (got < 0) {
					log_error("usage claim failed: router "
					          "%" PRId64,
					          tg->id);
					tot->failed++;
					rc = 1;
				} else {
					tot->skipped++;
				}
				arena_release(&j->a);
				free(j);
				continue;
			}
			tot->claimed++;
			if (j->lead)
				leads[nleads++] = j->tenant_id;
			pthread_mutex_lock(&p.mu);
			*p.todo_tail = j;
			p.todo_tail = &j->next;
			pthread_cond_signal(&p.todo_cv);
			pthread_mutex_unlock(&p.mu);
			inflight++;
		}
		if (next < n && now_usec() >= deadline) {
			tot->skipped += (long)(n - next);
			next = n;
		}
		if (inflight == 0)
			break;
		pthread_mutex_lock(&p.mu);
		while (!p.done)
			pthread_cond_wait(&p.done_cv, &p.mu);
		j = p.done;
		p.done = j->next;
		pthread_mutex_unlock(&p.mu);
		inflight--;
		tot->poll_us += j->poll_us;
		{
			int64_t s0 = now_usec();

			for (int k = 1;; k++) {
				struct collect_totals before = *tot;

				j->lock_lost = 0;
				if (store_job(db, cfg, o, j, tot) == 0)
					break;
				if (j->lock_lost && k < STORE_ATTEMPTS) {
					/* Rolled back: it counted nothing. */
					*tot = before;
					log_info("usage store retried: tenant "
					         "%" PRId64 " router %" PRId64
					         " lost a lock (attempt %d)",
					         j->tenant_id, j->router_id, k);
					continue;
				}
				log_error("usage not stored: tenant %" PRId64
				          " router %" PRId64,
				          j->tenant_id, j->router_id);
				tot->failed++;
				rc = 1;
				break;
			}
			tot->store_us += now_usec() - s0;
		}
		arena_release(&j->a);
		free(j);
	}

	pthread_mutex_lock(&p.mu);
	p.stop = 1;
	pthread_cond_broadcast(&p.todo_cv);
	pthread_mutex_unlock(&p.mu);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);

	now = o->now ? o->now : time(NULL);
	for (size_t i = 0; i < nleads; i++) {
		if (emit_update(db, leads[i], now) < 0) {
			log_error("monitoring:update not written: tenant "
			          "%" PRId64,
			          leads[i]);
			rc = 1;
		}
	}
	if (o->maintenance && maintain(db, cfg, now) < 0)
		rc = 1;

	pthread_cond_destroy(&p.todo_cv);
	pthread_cond_destroy(&p.done_cv);
	pthread_mutex_destroy(&p.mu);
	free(leads);
	free(threads);
	free(targets);
	db_close(db);
	tot->wall_us = now_usec() - t0;
	return rc;
}
