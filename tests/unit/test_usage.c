/*
 * lib/usage.c: the delta rules (never negative, never a spike), the
 * RouterOS duration and counter parsers, buckets, the high-usage checks
 * and the percentages.  The collection itself runs against the simulator
 * in tests/e2e/test_usage.py.
 */
#include <stdint.h>
#include <string.h>

#include "tests/unit/unit.h"
#include "usage.h"

#define GBIT    UINT64_C(10000000000) /* usage_max_bps's default */
#define MINUTE  60
#define DOWN_60 UINT64_C(60000000) /* 8 Mbit/s for a minute */

static struct usage_last
last_of(const char *id, int64_t up, uint64_t rx, uint64_t tx)
{
	struct usage_last l = {1, id, up, rx, tx};

	return l;
}

static struct usage_reading
now_of(const char *id, int64_t up, uint64_t rx, uint64_t tx)
{
	struct usage_reading r = {id, up, rx, tx};

	return r;
}

START_TEST(same_session_grows)
{
	struct usage_last l = last_of("*1", 1000, 5000, 700);
	struct usage_reading n = now_of("*1", 1060, 5000 + DOWN_60, 700 + 9000);
	struct usage_delta d;

	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SAME);
	ck_assert_uint_eq(d.rx_bytes, DOWN_60);
	ck_assert_uint_eq(d.tx_bytes, 9000);
	ck_assert_int_eq(d.secs, 60);
	ck_assert_uint_eq(d.rx_bps, 8000000);
	ck_assert_uint_eq(d.tx_bps, 1200);
	/* The router's elapsed time does not matter for the same session. */
	usage_delta(&l, &n, -1, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SAME);
	ck_assert_uint_eq(d.rx_bytes, DOWN_60);
	/* Nothing moved: no row, no rate. */
	n = now_of("*1", 1000, 5000, 700);
	usage_delta(&l, &n, 0, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_IDLE);
	ck_assert_int_eq(d.secs, 0);
}
END_TEST

START_TEST(wrap_is_the_modular_difference)
{
	struct usage_last l =
	    last_of("*1", 100, UINT64_MAX - 999, UINT64_MAX - 2999);
	struct usage_reading n = now_of("*1", 160, 5000, 1000);
	struct usage_delta d;

	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_WRAP);
	ck_assert_uint_eq(d.rx_bytes, 6000);
	ck_assert_uint_eq(d.tx_bytes, 4000);
}
END_TEST

START_TEST(reset_counts_from_zero)
{
	/* A big counter becomes small: not a wrap (implausible), a reset. */
	struct usage_last l = last_of("*1", 100, 900000000000, 5000000);
	struct usage_reading n = now_of("*1", 160, 1234, 4000000);
	struct usage_delta d;

	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_RESET);
	ck_assert_uint_eq(d.rx_bytes, 1234);
	ck_assert_uint_eq(d.tx_bytes, 4000000);
	ck_assert_int_eq(d.secs, 60);
}
END_TEST

START_TEST(spikes_are_dropped)
{
	/* 10^15 bytes in a minute is 1.3e14 bit/s: beyond any link. */
	struct usage_last l = last_of("*1", 100, 1000, 1000);
	struct usage_reading n =
	    now_of("*1", 160, UINT64_C(1000000000000000), 2000);
	struct usage_delta d;

	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SPIKE);
	ck_assert_uint_eq(d.rx_bytes, 0);
	ck_assert_uint_eq(d.tx_bytes, 1000);
	/* Exactly at the cap passes, with the second of slack. */
	n = now_of("*1", 160, 1000 + GBIT / 8 * 60, 1000);
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SAME);
	ck_assert_uint_eq(d.rx_bytes, GBIT / 8 * 60);
	/* A lower cap makes the same reading a spike. */
	usage_delta(&l, &n, 60, 0, GBIT / 100, &d);
	ck_assert_int_eq(d.kind, USAGE_SPIKE);
	ck_assert_uint_eq(d.rx_bytes, 0);
}
END_TEST

START_TEST(new_sessions)
{
	struct usage_last l = last_of("*1", 5000, 900000, 900000);
	struct usage_reading n = now_of("*2", 45, 3000000, 200000);
	struct usage_delta d;

	/* Began 45 s ago, the last reading was 60 s ago: all of it counts. */
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_NEW_SESSION);
	ck_assert_uint_eq(d.rx_bytes, 3000000);
	ck_assert_uint_eq(d.tx_bytes, 200000);
	ck_assert_int_eq(d.secs, 45);
	/* Older than the last reading: its bytes before it are not ours. */
	n.uptime = 4000;
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_BASELINE);
	ck_assert_int_eq(d.secs, 0);
	ck_assert_uint_eq(d.rx_bytes, 0);
	/* The first poll of the router: nothing to compare with. */
	n.uptime = 45;
	usage_delta(&l, &n, -1, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_BASELINE);
	/* Same .id but its uptime went back: another session. */
	n = now_of("*1", 30, 100000, 100000);
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_NEW_SESSION);
	ck_assert_uint_eq(d.rx_bytes, 100000);
	/* After a reboot every session is new, whatever its .id. */
	n = now_of("*1", 5030, 100000, 100000);
	usage_delta(&l, &n, 6000, 1, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_NEW_SESSION);
	ck_assert_uint_eq(d.rx_bytes, 100000);
	ck_assert_int_eq(d.secs, 5030);
	/* A customer never seen, its session started just now. */
	memset(&l, 0, sizeof(l));
	n = now_of("*9", 20, 50000, 5000);
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_NEW_SESSION);
	ck_assert_uint_eq(d.rx_bytes, 50000);
	/* A new session whose counter is implausible: dropped. */
	n = now_of("*9", 20, UINT64_MAX - 5, 5000);
	usage_delta(&l, &n, 60, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SPIKE);
	ck_assert_uint_eq(d.rx_bytes, 0);
	ck_assert_uint_eq(d.tx_bytes, 5000);
}
END_TEST

START_TEST(long_gaps_are_not_attributed)
{
	struct usage_last l = last_of("*1", 100, 1000, 1000);
	struct usage_reading n =
	    now_of("*1", 100 + USAGE_MAX_GAP + 1, 50000, 50000);
	struct usage_delta d;

	usage_delta(&l, &n, USAGE_MAX_GAP + 1, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_GAP);
	ck_assert_int_eq(d.secs, 0);
	n.uptime = 100 + USAGE_MAX_GAP;
	usage_delta(&l, &n, USAGE_MAX_GAP, 0, GBIT, &d);
	ck_assert_int_eq(d.kind, USAGE_SAME);
	ck_assert_int_eq(d.secs, USAGE_MAX_GAP);
}
END_TEST

/* Every pair of 64-bit counters: never more than the cap allows. */
START_TEST(never_beyond_the_cap)
{
	static const uint64_t v[] = {
	    0,
	    1,
	    1000,
	    UINT64_C(1) << 32,
	    UINT64_MAX,
	    UINT64_MAX - 1,
	    UINT64_C(1) << 63,
	    123456789012345,
	};
	static const int64_t ups[] = {0, 1, 59, 60, 61, 3600};

	for (size_t a = 0; a < sizeof(v) / sizeof(v[0]); a++)
		for (size_t b = 0; b < sizeof(v) / sizeof(v[0]); b++)
			for (size_t u = 0; u < sizeof(ups) / sizeof(ups[0]);
			     u++) {
				struct usage_last l =
				    last_of("*1", 100, v[a], v[b]);
				struct usage_reading n =
				    now_of(u % 2 ? "*1" : "*2", 100 + ups[u],
				           v[b], v[a]);
				struct usage_delta d;
				uint64_t cap;

				usage_delta(&l, &n, ups[u], 0, GBIT, &d);
				cap = (GBIT / 8 + 1) * (uint64_t)(d.secs + 1);
				ck_assert_int_ge(d.secs, 0);
				ck_assert(d.rx_bytes <= cap);
				ck_assert(d.tx_bytes <= cap);
				if (d.secs == 0)
					ck_assert(d.rx_bytes == 0 &&
					          d.tx_bytes == 0);
			}
}
END_TEST

START_TEST(durations)
{
	static const struct {
		const char *s;
		int64_t secs;
	} ok[] = {
	    {"0s", 0},
	    {"45s", 45},
	    {"1m", 60},
	    {"4m5s", 245},
	    {"3h4m5s", 11045},
	    {"1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 245},
	    {"2d", 172800},
	    {"1s150ms", 1},
	    {"20ms", 0},
	    {"00:00:07", 7},
	    {"01:02:03", 3723},
	    {"3d04:05:06", 3 * 86400 + 4 * 3600 + 5 * 60 + 6},
	    {"1w00:00:01", 604801},
	    {"00:00:07.5", 7},
	};
	static const char *const bad[] = {
	    "",         "s",        "5",       "5x",
	    "1m5",      "-5s",      "5 s",     "01:60:00",
	    "01:00",    "00:00:61", "1:2:3:4", "9999999999999s",
	    "1000000w", "5s ",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(usage_parse_duration(ok[i].s, &v) == 0, "%s",
		              ok[i].s);
		ck_assert_int_eq(v, ok[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(usage_parse_duration(bad[i], &v) == -1, "'%s'",
		              bad[i]);
	ck_assert_int_eq(usage_parse_duration(NULL, &v), -1);
}
END_TEST

START_TEST(counters)
{
	uint64_t v;

	ck_assert_int_eq(usage_parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(usage_parse_u64("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(usage_parse_u64("18446744073709551616", &v), -1);
	ck_assert_int_eq(usage_parse_u64("000000000000000000001", &v), -1);
	ck_assert_int_eq(usage_parse_u64("", &v), -1);
	ck_assert_int_eq(usage_parse_u64("12a", &v), -1);
	ck_assert_int_eq(usage_parse_u64("-1", &v), -1);
	ck_assert_int_eq(usage_parse_u64("+1", &v), -1);
	ck_assert_int_eq(usage_parse_u64(NULL, &v), -1);
}
END_TEST

START_TEST(buckets)
{
	ck_assert_int_eq(usage_bucket(1764590399, 60), 1764590340);
	ck_assert_int_eq(usage_bucket(1764590400, 300), 1764590400);
	ck_assert_int_eq(usage_bucket(1764590699, 300), 1764590400);
	ck_assert_int_eq(usage_bucket(1764593999, 3600), 1764590400);
	ck_assert_int_eq(usage_bucket(-1, 60), -60);
}
END_TEST

START_TEST(sustained_episodes)
{
	int64_t hot = 0, cool = 0;
	int ep = 0;

	/* 15 minutes over: raised once, on the 15th. */
	for (int i = 1; i <= 20; i++)
		ck_assert_int_eq(
		    usage_sustained_step(&hot, &cool, &ep, 1, 60, 900),
		    i == 15 ? USAGE_ALERT_RAISE : 0);
	ck_assert_int_eq(ep, 1);
	/* A short dip does not end it; 15 minutes under do, once. */
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 0, 600, 900),
	                 0);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 1, 60, 900), 0);
	ck_assert_int_eq(cool, 0);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 0, 600, 900),
	                 0);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 0, 300, 900),
	                 USAGE_ALERT_RESOLVE);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 0, 300, 900),
	                 0);
	ck_assert_int_eq(ep, 0);
	/* Interrupted before 15 minutes: nothing. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(
		    usage_sustained_step(&hot, &cool, &ep, 1, 60, 900), 0);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 0, 60, 900), 0);
	ck_assert_int_eq(hot, 0);
	/* Switched off: an open episode ends. */
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 1, 900, 900),
	                 USAGE_ALERT_RAISE);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 1, 60, 0),
	                 USAGE_ALERT_RESOLVE);
	ck_assert_int_eq(usage_sustained_step(&hot, &cool, &ep, 1, 60, 0), 0);
	/* The counts stay within the table's INT UNSIGNED. */
	hot = 999999990;
	usage_sustained_step(&hot, &cool, &ep, 1, INT64_C(1) << 40, 900);
	ck_assert_int_eq(hot, 1000000000);
}
END_TEST

START_TEST(thresholds)
{
	/* 90 % of 10,000 kbit/s is 9,000,000 bit/s. */
	ck_assert(usage_over(9000000, 10000, 90));
	ck_assert(!usage_over(8999999, 10000, 90));
	ck_assert(usage_over(UINT64_MAX, INT64_MAX / 1000, 100));
	ck_assert(!usage_over(9000000, 0, 90));
	ck_assert(!usage_over(9000000, 10000, 0));
}
END_TEST

START_TEST(monthly_volume)
{
	char month[8] = "", prev[8];
	uint64_t bytes = 0;
	int alerted = 0;

	ck_assert_int_eq(usage_month_step(month, &bytes, &alerted, "2026-11",
	                                  600, 1000, prev),
	                 0);
	ck_assert_str_eq(month, "2026-11");
	ck_assert_int_eq(usage_month_step(month, &bytes, &alerted, "2026-11",
	                                  400, 1000, prev),
	                 USAGE_ALERT_RAISE);
	ck_assert_int_eq(usage_month_step(month, &bytes, &alerted, "2026-11",
	                                  400, 1000, prev),
	                 0);
	ck_assert_uint_eq(bytes, 1400);
	/* The next month resolves the last one's alert and starts over. */
	ck_assert_int_eq(usage_month_step(month, &bytes, &alerted, "2026-12",
	                                  10, 1000, prev),
	                 USAGE_ALERT_RESOLVE);
	ck_assert_str_eq(prev, "2026-11");
	ck_assert_str_eq(month, "2026-12");
	ck_assert_uint_eq(bytes, 10);
	ck_assert_int_eq(alerted, 0);
	/* Both at once: the old month resolved, the new one over already. */
	alerted = 1;
	ck_assert_int_eq(usage_month_step(month, &bytes, &alerted, "2027-01",
	                                  5000, 1000, prev),
	                 USAGE_ALERT_RESOLVE | USAGE_ALERT_RAISE);
	ck_assert_str_eq(prev, "2026-12");
	/* Off: an open alert is resolved. */
	ck_assert_int_eq(
	    usage_month_step(month, &bytes, &alerted, "2027-01", 1, 0, prev),
	    USAGE_ALERT_RESOLVE);
	ck_assert_str_eq(prev, "2027-01");
	ck_assert_int_eq(alerted, 0);
	/* Bytes saturate rather than wrap. */
	bytes = UINT64_MAX - 1;
	usage_month_step(month, &bytes, &alerted, "2027-01", 10, 0, prev);
	ck_assert_uint_eq(bytes, UINT64_MAX);
}
END_TEST

START_TEST(percentages)
{
	char out[24];

	usage_percent(24000, 40000, out);
	ck_assert_str_eq(out, "60.00");
	usage_percent(3000, 9000, out);
	ck_assert_str_eq(out, "33.33");
	usage_percent(2, 3, out);
	ck_assert_str_eq(out, "66.67");
	usage_percent(1, 200000, out); /* 0.0005 %: half up */
	ck_assert_str_eq(out, "0.00");
	usage_percent(1, 20000, out);
	ck_assert_str_eq(out, "0.01");
	usage_percent(150, 100, out);
	ck_assert_str_eq(out, "150.00");
	usage_percent(5, 0, out);
	ck_assert_str_eq(out, "0.00");
	/* Absurd figures are capped, never overflow. */
	usage_percent(INT64_MAX, 1, out);
	ck_assert_str_eq(out, "100000000.00");
	ck_assert_int_eq(usage_kind_name(USAGE_WRAP)[0], 'w');
	ck_assert_str_eq(usage_kind_name(USAGE_KIND__MAX), "?");
}
END_TEST

UNIT_MAIN("usage", same_session_grows, wrap_is_the_modular_difference,
          reset_counts_from_zero, spikes_are_dropped, new_sessions,
          long_gaps_are_not_attributed, never_beyond_the_cap, durations,
          counters, buckets, sustained_episodes, thresholds, monthly_volume,
          percentages)
