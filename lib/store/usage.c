#include "store/usage.h"

#include <string.h>

#include "db.h"

/* clang-format off */
static const struct col info_cols[] = {
	COL_STR(struct usage_router_info, timezone, 0),
	COL_BOOL(struct usage_router_info, has_settings, 0),
	COL_INT(struct usage_router_info, sustained_percent, COL_F_NULL),
	COL_INT(struct usage_router_info, sustained_minutes, COL_F_NULL),
	COL_INT(struct usage_router_info, monthly_volume_gb, COL_F_NULL),
	COL_INT(struct usage_router_info, router_uptime, COL_F_NULL),
	COL_END
};
static const struct rowtype info_row =
    ROWTYPE(struct usage_router_info, "usage_router_info", info_cols);

static const struct col customer_cols[] = {
	COL_INT(struct usage_customer, id, 0),
	COL_STR(struct usage_customer, pppoe_username, 0),
	COL_STR(struct usage_customer, status, 0),
	COL_INT(struct usage_customer, speed_download, 0),
	COL_INT(struct usage_customer, speed_upload, 0),
	COL_INT(struct usage_customer, plan_download, 0),
	COL_INT(struct usage_customer, plan_upload, 0),
	COL_STR(struct usage_customer, session_id, COL_F_NULL),
	COL_INT(struct usage_customer, session_uptime, COL_F_NULL),
	COL_DEC(struct usage_customer, rx_counter, COL_F_NULL),
	COL_DEC(struct usage_customer, tx_counter, COL_F_NULL),
	COL_TIME(struct usage_customer, read_at, COL_F_NULL),
	COL_BOOL(struct usage_customer, online, COL_F_NULL),
	COL_INT(struct usage_customer, hot_seconds, COL_F_NULL),
	COL_INT(struct usage_customer, cool_seconds, COL_F_NULL),
	COL_BOOL(struct usage_customer, episode, COL_F_NULL),
	COL_STR(struct usage_customer, month, COL_F_NULL),
	COL_INT(struct usage_customer, month_bytes, COL_F_NULL),
	COL_BOOL(struct usage_customer, month_alerted, COL_F_NULL),
	COL_END
};
const struct rowtype usage_customer_row =
    ROWTYPE(struct usage_customer, "usage_customer", customer_cols);

static const struct col point_cols[] = {
	COL_INT(struct usage_point, customer_id, 0),
	COL_TIME(struct usage_point, at, COL_F_NULL),
	COL_INT(struct usage_point, rx_bytes, COL_F_NULL),
	COL_INT(struct usage_point, tx_bytes, COL_F_NULL),
	COL_INT(struct usage_point, secs, COL_F_NULL),
	COL_INT(struct usage_point, peak_rx_bps, COL_F_NULL),
	COL_INT(struct usage_point, peak_tx_bps, COL_F_NULL),
	COL_END
};
static const struct rowtype point_row =
    ROWTYPE(struct usage_point, "usage_point", point_cols);

static const struct col overview_cols[] = {
	COL_INT(struct usage_overview_row, id, 0),
	COL_STR(struct usage_overview_row, name, 0),
	COL_STR(struct usage_overview_row, status, 0),
	COL_INT(struct usage_overview_row, uplink_capacity_kbps, COL_F_NULL),
	COL_TIME(struct usage_overview_row, polled_at, COL_F_NULL),
	COL_BOOL(struct usage_overview_row, ok, 0),
	COL_BOOL(struct usage_overview_row, fresh, 0),
	COL_INT(struct usage_overview_row, sessions_online, 0),
	COL_INT(struct usage_overview_row, rx_bps, 0),
	COL_INT(struct usage_overview_row, tx_bps, 0),
	COL_INT(struct usage_overview_row, plan_download_kbps, 0),
	COL_INT(struct usage_overview_row, plan_upload_kbps, 0),
	COL_INT(struct usage_overview_row, active_customers, 0),
	COL_END
};
static const struct rowtype overview_row =
    ROWTYPE(struct usage_overview_row, "usage_overview_row", overview_cols);

static const struct col settings_cols[] = {
	COL_INT(struct usage_settings, sustained_percent, COL_F_NULL),
	COL_INT(struct usage_settings, sustained_minutes, 0),
	COL_INT(struct usage_settings, monthly_volume_gb, COL_F_NULL),
	COL_TIME(struct usage_settings, updated_at, COL_F_NULL),
	COL_END
};
const struct rowtype usage_settings_row =
    ROWTYPE(struct usage_settings, "usage_settings", settings_cols);

static const struct col done_cols[] = {
	COL_INT(struct usage_router_done, router_id, 0),
	COL_BOOL(struct usage_router_done, ok, 0),
	COL_INT(struct usage_router_done, router_uptime, COL_F_NULL),
	COL_INT(struct usage_router_done, sessions_online, 0),
	COL_INT(struct usage_router_done, rx_bps, 0),
	COL_INT(struct usage_router_done, tx_bps, 0),
	COL_INT(struct usage_router_done, active_customers, 0),
	COL_INT(struct usage_router_done, plan_download_kbps, 0),
	COL_INT(struct usage_router_done, plan_upload_kbps, 0),
	COL_END
};
static const struct rowtype done_in =
    ROWTYPE(struct usage_router_done, "usage_router_done", done_cols);

/* What the other statements bind. */
struct usage_in {
	int64_t id, router_id, gap_ms, fresh, days, keep_hours, ahead, batch;
	const char *owner, *rows, *read_at, *since, *table, *now;
	const char *minute, *five, *hour, *day;
};
static const struct col usage_in_cols[] = {
	COL_INT(struct usage_in, id, 0),
	COL_INT(struct usage_in, router_id, 0),
	COL_INT(struct usage_in, gap_ms, 0),
	COL_INT(struct usage_in, fresh, 0),
	COL_INT(struct usage_in, days, 0),
	COL_INT(struct usage_in, keep_hours, 0),
	COL_INT(struct usage_in, ahead, 0),
	COL_INT(struct usage_in, batch, 0),
	COL_STR(struct usage_in, owner, COL_F_NULL),
	COL_STR(struct usage_in, rows, COL_F_NULL),
	COL_TIME(struct usage_in, read_at, COL_F_NULL),
	COL_TIME(struct usage_in, since, COL_F_NULL),
	COL_STR(struct usage_in, table, COL_F_NULL),
	COL_TIME(struct usage_in, now, COL_F_NULL),
	COL_TIME(struct usage_in, minute, COL_F_NULL),
	COL_TIME(struct usage_in, five, COL_F_NULL),
	COL_TIME(struct usage_in, hour, COL_F_NULL),
	COL_TIME(struct usage_in, day, COL_F_NULL),
	COL_END
};
static const struct rowtype usage_in =
    ROWTYPE(struct usage_in, "usage_in", usage_in_cols);

/*
 * A batch of readings as JSON_TABLE rows; the column names differ from
 * the tables' so that ON DUPLICATE KEY UPDATE names are never ambiguous.
 */
#define READINGS " FROM JSON_TABLE(:rows, '$[*]' COLUMNS (" \
	"cid BIGINT UNSIGNED PATH '$[0]', rxb BIGINT UNSIGNED PATH '$[1]'," \
	" txb BIGINT UNSIGNED PATH '$[2]', dur INT UNSIGNED PATH '$[3]'," \
	" prx BIGINT UNSIGNED PATH '$[4]', ptx BIGINT UNSIGNED PATH '$[5]'))" \
	" AS j"

/* One rollup level: sums add up, peaks keep the highest. */
#define ROLLUP_ADD(table, bucket) \
	"INSERT INTO " table " (tenant_id, customer_id, at, rx_bytes," \
	" tx_bytes, secs, peak_rx_bps, peak_tx_bps)" \
	" SELECT :tenant, j.cid, " bucket ", j.rxb, j.txb, j.dur, j.prx," \
	" j.ptx" READINGS \
	" ON DUPLICATE KEY UPDATE rx_bytes = rx_bytes + VALUES(rx_bytes)," \
	" tx_bytes = tx_bytes + VALUES(tx_bytes)," \
	" secs = secs + VALUES(secs)," \
	" peak_rx_bps = GREATEST(peak_rx_bps, VALUES(peak_rx_bps))," \
	" peak_tx_bps = GREATEST(peak_tx_bps, VALUES(peak_tx_bps))"

/*
 * A customer's buckets of one level, or one row without a bucket.  No
 * ORDER BY: on the joined table it costs a temporary table per request,
 * and store_usage_points() puts the few rows in order itself.
 */
#define POINTS(table) \
	"SELECT c.id AS customer_id, u.at, u.rx_bytes, u.tx_bytes, u.secs," \
	" u.peak_rx_bps, u.peak_tx_bps FROM customers c" \
	" LEFT JOIN " table " u ON u.tenant_id = c.tenant_id" \
	" AND u.customer_id = c.id AND u.at >= :since" \
	" WHERE c.tenant_id = :tenant AND c.id = :id" \
	" AND c.deleted_at IS NULL"

/*
 * The plan speeds a customer runs at now: its fastest active, unexpired
 * boost's (as store_boost_effective_plan() chooses it), else its plan's.
 */
#define BOOSTED(col) \
	"COALESCE((SELECT bp." col " FROM speed_boosts b" \
	" JOIN service_plans bp ON bp.tenant_id = b.tenant_id" \
	" AND bp.id = b.boost_plan_id" \
	" WHERE b.tenant_id = :tenant AND b.customer_id = c.id" \
	" AND b.status = 'active' AND b.end_at > UTC_TIMESTAMP()" \
	" ORDER BY bp.speed_download DESC, b.id LIMIT 1), p." col ")" \
	" AS " col

enum {
	S_CLAIM_ROW, S_CLAIM, S_INFO, S_CUSTOMERS, S_ADD_RAW, S_ADD_5M,
	S_ADD_HOURLY, S_ADD_DAILY, S_SESSIONS, S_DONE, S_POINTS_5M,
	S_POINTS_HOURLY, S_POINTS_DAILY, S_OVERVIEW, S_SETTINGS_GET,
	S_SETTINGS_PUT, S_PARTITIONS, S_PURGE,
};

const struct stmt_def store_usage_stmts[] = {
	[S_CLAIM_ROW] = { "usage_claim_row", SCOPE_TENANT,
	     "INSERT IGNORE INTO usage_routers (tenant_id, router_id)"
	     " VALUES (:tenant, :router_id)", &usage_in, NULL, NULL },
	/*
	 * The database's clock decides, so that collectors on hosts whose
	 * clocks disagree still poll a router once a cycle.
	 */
	[S_CLAIM] = { "usage_claim", SCOPE_TENANT,
	     "UPDATE usage_routers SET claimed_by = :owner,"
	     " claimed_at = UTC_TIMESTAMP(3)"
	     " WHERE tenant_id = :tenant AND router_id = :router_id"
	     " AND (claimed_at IS NULL OR claimed_at <= UTC_TIMESTAMP(3)"
	     " - INTERVAL (:gap_ms * 1000) MICROSECOND)",
	     &usage_in, NULL, NULL },
	[S_INFO] = { "usage_router_info", SCOPE_TENANT,
	     "SELECT tn.timezone, s.tenant_id IS NOT NULL AS has_settings,"
	     " s.sustained_percent, s.sustained_minutes, s.monthly_volume_gb,"
	     " ur.router_uptime FROM routers r"
	     " JOIN tenants tn ON tn.id = r.tenant_id"
	     " LEFT JOIN usage_settings s ON s.tenant_id = r.tenant_id"
	     " LEFT JOIN usage_routers ur ON ur.tenant_id = r.tenant_id"
	     " AND ur.router_id = r.id"
	     " WHERE r.tenant_id = :tenant AND r.id = :id",
	     &usage_in, &info_row, NULL },
	[S_CUSTOMERS] = { "usage_router_customers", SCOPE_TENANT,
	     "SELECT c.id, c.pppoe_username, c.status,"
	     " " BOOSTED("speed_download") ", " BOOSTED("speed_upload") ","
	     " p.speed_download AS plan_download,"
	     " p.speed_upload AS plan_upload, s.session_id, s.session_uptime, s.rx_counter, s.tx_counter,"
	     " s.read_at, s.online, s.hot_seconds, s.cool_seconds, s.episode,"
	     " s.month, s.month_bytes, s.month_alerted FROM customers c"
	     " JOIN service_plans p ON p.tenant_id = c.tenant_id"
	     " AND p.id = c.service_plan_id"
	     " LEFT JOIN usage_sessions s ON s.tenant_id = c.tenant_id"
	     " AND s.customer_id = c.id"
	     " WHERE c.tenant_id = :tenant AND c.router_id = :id"
	     " AND c.deleted_at IS NULL AND c.pppoe_username IS NOT NULL",
	     &usage_in, &usage_customer_row, NULL },
	[S_ADD_RAW] = { "usage_add_raw", SCOPE_TENANT,
	     "INSERT INTO usage_raw (tenant_id, customer_id, at, rx_bytes,"
	     " tx_bytes, secs)"
	     " SELECT :tenant, j.cid, :minute, j.rxb, j.txb, LEAST(j.dur, 65535)"
	     READINGS
	     " ON DUPLICATE KEY UPDATE rx_bytes = rx_bytes + VALUES(rx_bytes),"
	     " tx_bytes = tx_bytes + VALUES(tx_bytes),"
	     " secs = LEAST(secs + VALUES(secs), 65535)",
	     &usage_in, NULL, NULL },
	[S_ADD_5M] = { "usage_add_5m", SCOPE_TENANT,
	     ROLLUP_ADD("usage_5m", ":five"), &usage_in, NULL, NULL },
	[S_ADD_HOURLY] = { "usage_add_hourly", SCOPE_TENANT,
	     ROLLUP_ADD("usage_hourly", ":hour"), &usage_in, NULL, NULL },
	[S_ADD_DAILY] = { "usage_add_daily", SCOPE_TENANT,
	     ROLLUP_ADD("usage_daily", ":day"), &usage_in, NULL, NULL },
	[S_SESSIONS] = { "usage_sessions_put", SCOPE_TENANT,
	     "INSERT INTO usage_sessions (tenant_id, customer_id, router_id,"
	     " session_id, session_uptime, rx_counter, tx_counter, read_at,"
	     " online, rx_bps, tx_bps, hot_seconds, cool_seconds, episode,"
	     " month, month_bytes, month_alerted)"
	     " SELECT :tenant, j.cid, j.rid, j.sid, j.sup, j.rxc, j.txc,"
	     " :read_at, j.onl, j.rxr, j.txr, j.hot, j.cool, j.epi, j.mon,"
	     " j.mby, j.mal"
	     " FROM JSON_TABLE(:rows, '$[*]' COLUMNS ("
	     "cid BIGINT UNSIGNED PATH '$[0]', rid BIGINT UNSIGNED PATH '$[1]',"
	     " sid VARCHAR(32) PATH '$[2]', sup BIGINT UNSIGNED PATH '$[3]',"
	     " rxc DECIMAL(20,0) PATH '$[4]', txc DECIMAL(20,0) PATH '$[5]',"
	     " onl TINYINT PATH '$[6]', rxr BIGINT UNSIGNED PATH '$[7]',"
	     " txr BIGINT UNSIGNED PATH '$[8]', hot INT UNSIGNED PATH '$[9]',"
	     " cool INT UNSIGNED PATH '$[10]', epi TINYINT PATH '$[11]',"
	     " mon CHAR(7) PATH '$[12]', mby BIGINT UNSIGNED PATH '$[13]',"
	     " mal TINYINT PATH '$[14]')) AS j"
	     " ON DUPLICATE KEY UPDATE router_id = VALUES(router_id),"
	     " session_id = VALUES(session_id),"
	     " session_uptime = VALUES(session_uptime),"
	     " rx_counter = VALUES(rx_counter), tx_counter = VALUES(tx_counter),"
	     " read_at = VALUES(read_at), online = VALUES(online),"
	     " rx_bps = VALUES(rx_bps), tx_bps = VALUES(tx_bps),"
	     " hot_seconds = VALUES(hot_seconds),"
	     " cool_seconds = VALUES(cool_seconds), episode = VALUES(episode),"
	     " month = VALUES(month), month_bytes = VALUES(month_bytes),"
	     " month_alerted = VALUES(month_alerted)",
	     &usage_in, NULL, NULL },
	/*
	 * A failed poll keeps the last good poll's time and uptime.  The
	 * time is the database's: it says how fresh the figures are.
	 */
	[S_DONE] = { "usage_router_done", SCOPE_TENANT,
	     "UPDATE usage_routers SET ok = :ok,"
	     " polled_at = IF(:ok, UTC_TIMESTAMP(), polled_at),"
	     " router_uptime = IF(:ok, :router_uptime, router_uptime),"
	     " sessions_online = :sessions_online, rx_bps = :rx_bps,"
	     " tx_bps = :tx_bps,"
	     " active_customers = IF(:ok, :active_customers, active_customers),"
	     " plan_download_kbps = IF(:ok, :plan_download_kbps,"
	     " plan_download_kbps),"
	     " plan_upload_kbps = IF(:ok, :plan_upload_kbps, plan_upload_kbps)"
	     " WHERE tenant_id = :tenant AND router_id = :router_id",
	     &done_in, NULL, NULL },
	[S_POINTS_5M] = { "usage_points_5m", SCOPE_TENANT,
	     POINTS("usage_5m"), &usage_in, &point_row, NULL },
	[S_POINTS_HOURLY] = { "usage_points_hourly", SCOPE_TENANT,
	     POINTS("usage_hourly"), &usage_in, &point_row, NULL },
	[S_POINTS_DAILY] = { "usage_points_daily", SCOPE_TENANT,
	     POINTS("usage_daily"), &usage_in, &point_row, NULL },
	/* One row per router: what its last good poll counted. */
	[S_OVERVIEW] = { "usage_overview", SCOPE_TENANT,
	     "SELECT r.id, r.name, r.status, r.uplink_capacity_kbps,"
	     " ur.polled_at, COALESCE(ur.ok, 0) AS ok,"
	     " COALESCE(ur.ok AND ur.polled_at >= UTC_TIMESTAMP()"
	     " - INTERVAL :fresh SECOND, 0) AS fresh,"
	     " COALESCE(ur.sessions_online, 0) AS sessions_online,"
	     " COALESCE(ur.rx_bps, 0) AS rx_bps,"
	     " COALESCE(ur.tx_bps, 0) AS tx_bps,"
	     " COALESCE(ur.plan_download_kbps, 0) AS plan_download_kbps,"
	     " COALESCE(ur.plan_upload_kbps, 0) AS plan_upload_kbps,"
	     " COALESCE(ur.active_customers, 0) AS active_customers"
	     " FROM routers r"
	     " LEFT JOIN usage_routers ur ON ur.tenant_id = r.tenant_id"
	     " AND ur.router_id = r.id"
	     " WHERE r.tenant_id = :tenant AND r.deleted_at IS NULL"
	     " ORDER BY r.name, r.id",
	     &usage_in, &overview_row, NULL },
	[S_SETTINGS_GET] = { "usage_settings_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM usage_settings WHERE tenant_id = :tenant",
	     NULL, &usage_settings_row, NULL },
	[S_SETTINGS_PUT] = { "usage_settings_put", SCOPE_TENANT,
	     "INSERT INTO usage_settings (tenant_id, sustained_percent,"
	     " sustained_minutes, monthly_volume_gb)"
	     " VALUES (:tenant, :sustained_percent, :sustained_minutes,"
	     " :monthly_volume_gb)"
	     " ON DUPLICATE KEY UPDATE"
	     " sustained_percent = VALUES(sustained_percent),"
	     " sustained_minutes = VALUES(sustained_minutes),"
	     " monthly_volume_gb = VALUES(monthly_volume_gb),"
	     " updated_at = UTC_TIMESTAMP()",
	     &usage_settings_row, NULL, NULL },
	/* sql/mysql/0013: the definer's rights, a fixed list of tables. */
	[S_PARTITIONS] = { "usage_partitions", SCOPE_GLOBAL,
	     "CALL usage_partitions(:table, :now, :days, :keep_hours, :ahead)",
	     &usage_in, NULL, NULL },
	[S_PURGE] = { "usage_purge", SCOPE_GLOBAL,
	     "CALL usage_purge(:batch)", &usage_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_usage_stmts;

int
store_usage_claim(struct tdb *t, int64_t router_id, const char *owner,
                  int64_t gap_ms)
{
	struct usage_in in = {
	    .router_id = router_id, .owner = owner, .gap_ms = gap_ms};
	struct rows res;

	if (tdb_exec(t, &S[S_CLAIM_ROW], &in, NULL) < 0 ||
	    tdb_exec(t, &S[S_CLAIM], &in, &res) < 0)
		return -1;
	return res.affected == 1;
}

int
store_usage_router_info(struct tdb *t, int64_t router_id,
                        struct usage_router_info *out)
{
	struct usage_in in = {.id = router_id};

	return tdb_one(t, &S[S_INFO], &in, out);
}

int
store_usage_router_customers(struct tdb *t, int64_t router_id, struct rows *out)
{
	struct usage_in in = {.id = router_id};

	return tdb_exec(t, &S[S_CUSTOMERS], &in, out);
}

int
store_usage_add(struct tdb *t, const char *rows, const struct usage_buckets *b)
{
	struct usage_in in = {.rows = rows,
	                      .minute = b->minute,
	                      .five = b->five,
	                      .hour = b->hour,
	                      .day = b->day};

	if (tdb_exec(t, &S[S_ADD_RAW], &in, NULL) < 0 ||
	    tdb_exec(t, &S[S_ADD_5M], &in, NULL) < 0 ||
	    tdb_exec(t, &S[S_ADD_HOURLY], &in, NULL) < 0 ||
	    tdb_exec(t, &S[S_ADD_DAILY], &in, NULL) < 0)
		return -1;
	return 0;
}

int
store_usage_sessions_put(struct tdb *t, const char *rows, const char *read_at)
{
	struct usage_in in = {.rows = rows, .read_at = read_at};

	return tdb_exec(t, &S[S_SESSIONS], &in, NULL);
}

int
store_usage_router_done(struct tdb *t, const struct usage_router_done *d)
{
	return tdb_exec(t, &S[S_DONE], d, NULL);
}

static const char *
point_at(const struct rows *rs, size_t i)
{
	const char *at = ((const struct usage_point *)rows_at(rs, i))->at;

	return at ? at : "";
}

int
store_usage_points(struct tdb *t, enum usage_level level, int64_t customer_id,
                   const char *since, struct rows *out)
{
	static const int stmt[USAGE_LEVEL__MAX] = {
	    [USAGE_5M] = S_POINTS_5M,
	    [USAGE_HOURLY] = S_POINTS_HOURLY,
	    [USAGE_DAILY] = S_POINTS_DAILY,
	};
	struct usage_in in = {.id = customer_id, .since = since};

	if ((unsigned)level >= USAGE_LEVEL__MAX ||
	    tdb_exec(t, &S[stmt[level]], &in, out) < 0)
		return -1;
	/*
	 * Oldest first.  The rows come in primary-key order already, so
	 * this insertion sort only checks that (times compare as text).
	 */
	for (size_t i = 1; i < out->n; i++) {
		struct usage_point p = *(struct usage_point *)rows_at(out, i);
		size_t k = i;

		while (k > 0 &&
		       strcmp(point_at(out, k - 1), p.at ? p.at : "") > 0) {
			memcpy(rows_at(out, k), rows_at(out, k - 1), sizeof(p));
			k--;
		}
		memcpy(rows_at(out, k), &p, sizeof(p));
	}
	return 0;
}

int
store_usage_overview(struct tdb *t, int64_t fresh_seconds, struct rows *out)
{
	struct usage_in in = {.fresh = fresh_seconds};

	return tdb_exec(t, &S[S_OVERVIEW], &in, out);
}

int
store_usage_settings_get(struct tdb *t, struct usage_settings *out)
{
	return tdb_one(t, &S[S_SETTINGS_GET], NULL, out);
}

int
store_usage_settings_put(struct tdb *t, const struct usage_settings *s)
{
	return tdb_exec(t, &S[S_SETTINGS_PUT], s, NULL);
}

int
store_usage_partitions(struct db *db, struct arena *a, const char *table,
                       const char *now, int64_t days, int64_t keep_hours,
                       int64_t ahead)
{
	struct usage_in in = {.table = table,
	                      .now = now,
	                      .days = days,
	                      .keep_hours = keep_hours,
	                      .ahead = ahead};

	return db_exec(db, a, &S[S_PARTITIONS], &in, NULL);
}

int
store_usage_purge(struct db *db, struct arena *a, int64_t batch)
{
	struct usage_in in = {.batch = batch};

	return db_exec(db, a, &S[S_PURGE], &in, NULL);
}
