#include "usage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "crypto.h"
#include "routeros.h"
#include "store/router.h"
#include "store/usage.h"

#define DURATION_MAX (INT64_C(100) * 366 * 86400)

const char *
usage_kind_name(enum usage_kind k)
{
	static const char *const names[USAGE_KIND__MAX] = {
	    [USAGE_SAME] = "same",
	    [USAGE_IDLE] = "idle",
	    [USAGE_WRAP] = "wrap",
	    [USAGE_RESET] = "reset",
	    [USAGE_NEW_SESSION] = "new_session",
	    [USAGE_BASELINE] = "baseline",
	    [USAGE_SPIKE] = "spike",
	    [USAGE_GAP] = "gap",
	};

	return (unsigned)k < USAGE_KIND__MAX ? names[k] : "?";
}

/*
 * Whether n bytes in secs seconds stay within max_bps; one second of
 * slack covers the whole-second resolution of RouterOS uptimes.
 */
static int
plausible(uint64_t n, int64_t secs, uint64_t max_bps)
{
	uint64_t per_sec = max_bps / 8 + 1;

	return n / per_sec <= (uint64_t)secs;
}

/* The later a kind is here, the more it says about a reading. */
static enum usage_kind
worse(enum usage_kind a, enum usage_kind b)
{
	static const int rank[USAGE_KIND__MAX] = {
	    [USAGE_SAME] = 0,  [USAGE_IDLE] = 0,        [USAGE_WRAP] = 1,
	    [USAGE_RESET] = 2, [USAGE_NEW_SESSION] = 2, [USAGE_BASELINE] = 3,
	    [USAGE_GAP] = 3,   [USAGE_SPIKE] = 4,
	};

	return rank[b] > rank[a] ? b : a;
}

/* One direction of the same session: the bytes and what they were. */
static uint64_t
same_session(uint64_t prev, uint64_t cur, int64_t secs, uint64_t max_bps,
             enum usage_kind *kind)
{
	uint64_t d = cur - prev; /* modulo 2^64: a wrap's true difference */

	if (cur >= prev) {
		if (plausible(d, secs, max_bps))
			return d;
		*kind = worse(*kind, USAGE_SPIKE);
		return 0;
	}
	if (plausible(d, secs, max_bps)) {
		*kind = worse(*kind, USAGE_WRAP);
		return d;
	}
	/* Reset: what the counter holds now was counted since the reset. */
	if (plausible(cur, secs, max_bps)) {
		*kind = worse(*kind, USAGE_RESET);
		return cur;
	}
	*kind = worse(*kind, USAGE_SPIKE);
	return 0;
}

void
usage_delta(const struct usage_last *last, const struct usage_reading *now,
            int64_t elapsed, int rebooted, uint64_t max_bps,
            struct usage_delta *out)
{
	int same = !rebooted && last->known && last->session_id &&
	           now->session_id &&
	           strcmp(last->session_id, now->session_id) == 0 &&
	           now->uptime >= last->uptime;
	enum usage_kind kind = USAGE_SAME;

	memset(out, 0, sizeof(*out));
	if (same) {
		out->secs = now->uptime - last->uptime;
		if (out->secs == 0) {
			out->kind = USAGE_IDLE;
			return;
		}
		if (out->secs > USAGE_MAX_GAP) {
			out->secs = 0;
			out->kind = USAGE_GAP;
			return;
		}
		out->rx_bytes =
		    same_session(last->rx, now->rx, out->secs, max_bps, &kind);
		out->tx_bytes =
		    same_session(last->tx, now->tx, out->secs, max_bps, &kind);
	} else if (elapsed >= 0 && now->uptime <= elapsed + 1 &&
	           now->uptime > 0 && now->uptime <= USAGE_MAX_GAP) {
		/*
		 * The session began after the last reading: everything it
		 * counted falls in this interval.
		 */
		kind = USAGE_NEW_SESSION;
		out->secs = now->uptime;
		if (plausible(now->rx, out->secs, max_bps))
			out->rx_bytes = now->rx;
		else
			kind = USAGE_SPIKE;
		if (plausible(now->tx, out->secs, max_bps))
			out->tx_bytes = now->tx;
		else
			kind = USAGE_SPIKE;
	} else {
		out->kind = USAGE_BASELINE;
		return;
	}
	out->kind = kind;
	out->rx_bps = out->rx_bytes * 8 / (uint64_t)out->secs;
	out->tx_bps = out->tx_bytes * 8 / (uint64_t)out->secs;
}

int
usage_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!s || !*s)
		return -1;
	for (; s[n]; n++) {
		unsigned d;

		if (s[n] < '0' || s[n] > '9' || n >= 20)
			return -1;
		d = (unsigned)(s[n] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Reads up to 12 digits at *p; -1 when there are none. */
static int64_t
digits(const char **p)
{
	int64_t v = 0;
	int n = 0;

	while (**p >= '0' && **p <= '9') {
		if (++n > 12)
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return n ? v : -1;
}

int
usage_parse_duration(const char *s, int64_t *secs)
{
	const char *p = s;
	int64_t total = 0;

	if (!s || !*s)
		return -1;
	while (*p) {
		int64_t v = digits(&p), h, m;

		if (v < 0)
			return -1;
		if (*p == ':') {
			/* "HH:MM:SS", the older form, last in the string. */
			p++;
			m = digits(&p);
			if (m < 0 || m > 59 || *p != ':')
				return -1;
			p++;
			h = v;
			v = digits(&p);
			if (v < 0 || v > 59)
				return -1;
			total += h * 3600 + m * 60 + v;
			if (*p == '.') {
				p++;
				if (digits(&p) < 0)
					return -1;
			}
			if (*p)
				return -1;
			break;
		}
		if (strncmp(p, "ms", 2) == 0 || strncmp(p, "us", 2) == 0 ||
		    strncmp(p, "ns", 2) == 0) {
			p += 2;
			continue;
		}
		switch (*p) {
		case 'w':
			total += v * 604800;
			break;
		case 'd':
			total += v * 86400;
			break;
		case 'h':
			total += v * 3600;
			break;
		case 'm':
			total += v * 60;
			break;
		case 's':
			total += v;
			break;
		default:
			return -1;
		}
		p++;
		if (total > DURATION_MAX)
			return -1;
	}
	if (total > DURATION_MAX)
		return -1;
	*secs = total;
	return 0;
}

time_t
usage_bucket(time_t t, int width)
{
	time_t r = t % width;

	if (r < 0)
		r += width;
	return t - r;
}

int
usage_sustained_step(int64_t *hot, int64_t *cool, int *episode, int over,
                     int64_t secs, int64_t need)
{
	/* Capped so that the counts fit the table's INT UNSIGNED. */
	const int64_t cap = INT64_C(1000000000);

	if (need <= 0) {
		*hot = *cool = 0;
		if (*episode) {
			*episode = 0;
			return USAGE_ALERT_RESOLVE;
		}
		return 0;
	}
	if (over) {
		*hot = *hot + secs > cap ? cap : *hot + secs;
		*cool = 0;
	} else {
		*cool = *cool + secs > cap ? cap : *cool + secs;
		*hot = 0;
	}
	if (!*episode && *hot >= need) {
		*episode = 1;
		return USAGE_ALERT_RAISE;
	}
	if (*episode && *cool >= need) {
		*episode = 0;
		return USAGE_ALERT_RESOLVE;
	}
	return 0;
}

int
usage_over(uint64_t bps, int64_t kbps, int64_t percent)
{
	if (kbps <= 0 || percent <= 0)
		return 0;
	/* bps >= kbps * 1000 * percent / 100, without a division. */
	return (unsigned __int128)bps * 100 >=
	       (unsigned __int128)(uint64_t)kbps * 1000 * (uint64_t)percent;
}

int
usage_month_step(char *month, uint64_t *bytes, int *alerted, const char *key,
                 uint64_t add, uint64_t limit, char *prev)
{
	int rc = 0;

	prev[0] = '\0';
	if (strcmp(month, key) != 0) {
		if (*alerted) {
			snprintf(prev, 8, "%s", month);
			rc |= USAGE_ALERT_RESOLVE;
		}
		snprintf(month, 8, "%s", key);
		*bytes = 0;
		*alerted = 0;
	}
	*bytes = UINT64_MAX - *bytes < add ? UINT64_MAX : *bytes + add;
	if (!limit) {
		if (*alerted) {
			snprintf(prev, 8, "%s", month);
			*alerted = 0;
			rc |= USAGE_ALERT_RESOLVE;
		}
		return rc;
	}
	if (!*alerted && *bytes >= limit) {
		*alerted = 1;
		rc |= USAGE_ALERT_RAISE;
	}
	return rc;
}

void
usage_percent(int64_t num, int64_t den, char out[24])
{
	int64_t h;

	if (den <= 0 || num <= 0) {
		snprintf(out, 24, "0.00");
		return;
	}
	/* At most 100,000,000 %: no figure of this API comes near it. */
	if (num / 1000000 >= den)
		num = den * 1000000;
	/* Hundredths of a percent, rounded half up. */
	h = (int64_t)(((__int128)num * 20000 + den) / (2 * (__int128)den));
	snprintf(out, 24, "%" PRId64 ".%02" PRId64, h / 100, h % 100);
}

int
usage_overview_get(struct tdb *t, struct arena *a, struct usage_overview *out)
{
	struct rows rs;

	memset(out, 0, sizeof(*out));
	if (store_usage_overview(t, USAGE_FRESH_SECONDS, &rs) < 0)
		return -1;
	out->routers = arena_zalloc(a, (rs.n + 1) * sizeof(*out->routers));
	if (!out->routers)
		return -1;
	for (size_t i = 0; i < rs.n; i++) {
		const struct usage_overview_row *row = rows_at(&rs, i);
		struct usage_overview_router *o = &out->routers[i];
		int uplink = row->uplink_capacity_kbps > 0;

		o->id = row->id;
		o->name = row->name;
		o->status = row->status;
		o->polled_at = row->polled_at;
		o->fresh = row->fresh;
		o->active_customers = row->active_customers;
		/* One uplink figure for both directions when configured. */
		o->capacity_kbps = uplink ? row->uplink_capacity_kbps
		                          : row->plan_download_kbps;
		o->capacity_upload_kbps =
		    uplink ? row->uplink_capacity_kbps : row->plan_upload_kbps;
		o->capacity_source = uplink ? "uplink" : "plans";
		if (row->fresh) {
			o->used_kbps = row->rx_bps / 1000;
			o->used_upload_kbps = row->tx_bps / 1000;
			o->sessions_online = row->sessions_online;
		}
		out->capacity_kbps += o->capacity_kbps;
		out->capacity_upload_kbps += o->capacity_upload_kbps;
		out->used_kbps += o->used_kbps;
		out->used_upload_kbps += o->used_upload_kbps;
		out->sessions_online += o->sessions_online;
		out->active_customers += o->active_customers;
	}
	out->nrouters = rs.n;
	usage_percent(out->used_kbps, out->capacity_kbps, out->usage_percent);
	usage_percent(out->used_upload_kbps, out->capacity_upload_kbps,
	              out->upload_usage_percent);
	return 0;
}

void
usage_overview_totals_json(cJSON *d, const struct usage_overview *ov)
{
	json_add_int(d, "capacity_kbps", ov->capacity_kbps);
	json_add_int(d, "used_kbps", ov->used_kbps);
	json_add_decimal(d, "usage_percent", ov->usage_percent);
	json_add_int(d, "capacity_upload_kbps", ov->capacity_upload_kbps);
	json_add_int(d, "used_upload_kbps", ov->used_upload_kbps);
	json_add_decimal(d, "upload_usage_percent", ov->upload_usage_percent);
	json_add_int(d, "sessions_online", ov->sessions_online);
}

struct ros_conn *
usage_router_connect(const struct config *cfg, const struct router_secret *rt,
                     int connect_ms, int read_ms, size_t max_reply,
                     struct ros_error *err)
{
	char aad[96], password[512];
	struct ros_opts o;
	struct ros_conn *c;
	long n;

	memset(err, 0, sizeof(*err));
	snprintf(aad, sizeof(aad), "router:%" PRId64 ":%" PRId64 ":password",
	         rt->tenant_id, rt->id);
	n = rt->password_enc.p
	        ? crypto_open(cfg, aad, rt->password_enc.p, rt->password_enc.n,
	                      password, sizeof(password))
	        : 0;
	if (n < 0) {
		explicit_bzero(password, sizeof(password));
		err->code = ROS_ERR_INVALID;
		err->category = -1;
		snprintf(err->message, sizeof(err->message),
		         "the router's stored password does not open");
		return NULL;
	}
	password[n] = '\0';
	memset(&o, 0, sizeof(o));
	o.host = rt->host;
	o.port = (int)rt->api_port;
	o.use_tls = rt->use_tls;
	o.tls_anonymous = rt->tls_anonymous;
	o.tls_fingerprint = rt->tls_fingerprint;
	o.username = rt->username;
	o.password = password;
	o.connect_timeout_ms = connect_ms;
	o.read_timeout_ms = read_ms;
	o.write_timeout_ms = read_ms;
	o.max_reply_bytes = max_reply;
	c = ros_connect(&o, err);
	explicit_bzero(password, sizeof(password));
	return c;
}

int
usage_realtime(struct ros_conn *c, struct arena *a, const char *pppoe_name,
               uint64_t *rx_bps, uint64_t *tx_bps, struct ros_error *err)
{
	char *iface = arena_printf(a, "<pppoe-%s>", pppoe_name);
	struct ros_cmd *cmd = ros_cmd_new(a, "/interface/monitor-traffic");
	struct ros_result res;
	const char *rx, *tx;

	if (!iface || !cmd) {
		memset(err, 0, sizeof(*err));
		err->code = ROS_ERR_INVALID;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return -1;
	}
	ros_cmd_attr(cmd, "interface", iface);
	ros_cmd_attr(cmd, "once", "");
	ros_cmd_attr(cmd, ".proplist", "rx-bits-per-second,tx-bits-per-second");
	if (ros_call(c, cmd, a, &res, err) < 0) {
		/*
		 * "input does not match any value of interface": no such
		 * interface, that is, no session.
		 */
		if (err->code == ROS_ERR_TRAP &&
		    strstr(err->message, "does not match") &&
		    strstr(err->message, "interface"))
			return 0;
		return -1;
	}
	if (!res.items)
		return 0;
	/* The router's rx is the customer's upload. */
	rx = ros_item_get(res.items, "tx-bits-per-second");
	tx = ros_item_get(res.items, "rx-bits-per-second");
	if (!rx || !tx || usage_parse_u64(rx, rx_bps) < 0 ||
	    usage_parse_u64(tx, tx_bps) < 0) {
		memset(err, 0, sizeof(*err));
		err->code = ROS_ERR_PROTOCOL;
		err->category = -1;
		snprintf(err->message, sizeof(err->message),
		         "monitor-traffic answered without its rates");
		return -1;
	}
	return 1;
}
