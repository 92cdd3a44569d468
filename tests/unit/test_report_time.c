#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_time.h"
#include "tests/unit/unit.h"

/* 2026-12-01T00:00:00Z and friends, as Unix times. */
static time_t
utc(int y, int m, int d, int hh, int mm, int ss)
{
	return (time_t)(report_days(y, m, d) * 86400 + hh * 3600 + mm * 60 +
	                ss);
}

START_TEST(day_numbers)
{
	int y, m, d;

	ck_assert_int_eq(report_days(1970, 1, 1), 0);
	ck_assert_int_eq(report_days(2026, 12, 1), 20788);
	ck_assert_int_eq(report_days(1900, 3, 1), -25508);
	/* Every day of four centuries goes there and back. */
	for (int64_t n = report_days(1900, 1, 1); n < report_days(2300, 1, 1);
	     n++) {
		report_civil(n, &y, &m, &d);
		ck_assert_int_eq(report_days(y, m, d), n);
	}
	report_civil(report_days(2028, 2, 29), &y, &m, &d);
	ck_assert(y == 2028 && m == 2 && d == 29);
	ck_assert_int_eq(report_weekday(0), 4);                        /* Thu */
	ck_assert_int_eq(report_weekday(report_days(2026, 12, 1)), 2); /* Tue */
	ck_assert_int_eq(report_weekday(report_days(1969, 12, 29)), 1);
}
END_TEST

START_TEST(dates_and_spans)
{
	char out[REPORT_DATE_LEN];
	int64_t n;

	ck_assert_int_eq(report_date_days("2026-02-28", &n), 0);
	report_date_str(n + 1, out);
	ck_assert_str_eq(out, "2026-03-01");
	ck_assert_int_eq(report_date_days("2026-02-29", &n), -1);
	ck_assert_int_eq(report_date_days("2026-2-28", &n), -1);
	ck_assert_int_eq(report_date_days(NULL, &n), -1);
	ck_assert_int_eq(report_span_days("2026-01-01", "2026-01-01"), 1);
	ck_assert_int_eq(report_span_days("2026-01-01", "2026-12-31"), 365);
	ck_assert_int_eq(report_span_days("2026-01-02", "2026-01-01"), 0);
	ck_assert_int_eq(report_span_days("2026-01-01", "junk"), -1);
}
END_TEST

START_TEST(months_of_a_range)
{
	struct report_month m[4];
	int64_t a, b;
	char f[REPORT_DATE_LEN], l[REPORT_DATE_LEN];

	report_date_days("2026-01-15", &a);
	report_date_days("2026-03-10", &b);
	ck_assert_int_eq(report_months(a, b, m, 4), 3);
	ck_assert_str_eq(m[0].month, "2026-01");
	report_date_str(m[0].first, f);
	report_date_str(m[0].last, l);
	ck_assert_str_eq(f, "2026-01-15");
	ck_assert_str_eq(l, "2026-01-31");
	report_date_str(m[1].first, f);
	report_date_str(m[1].last, l);
	ck_assert_str_eq(f, "2026-02-01");
	ck_assert_str_eq(l, "2026-02-28");
	ck_assert_str_eq(m[2].month, "2026-03");
	report_date_str(m[2].last, l);
	ck_assert_str_eq(l, "2026-03-10");
	/* One day; across a year; more months than room. */
	ck_assert_int_eq(report_months(a, a, m, 4), 1);
	ck_assert_int_eq(m[0].first, m[0].last);
	report_date_days("2025-12-31", &a);
	report_date_days("2026-01-01", &b);
	ck_assert_int_eq(report_months(a, b, m, 4), 2);
	ck_assert_str_eq(m[0].month, "2025-12");
	ck_assert_str_eq(m[1].month, "2026-01");
	report_date_days("2026-12-31", &b);
	ck_assert_int_eq(report_months(a, b, m, 4), -1);
}
END_TEST

START_TEST(local_midnights)
{
	time_t t;
	int64_t day = report_days(2026, 12, 1), d;

	ck_assert_int_eq(report_local_instant("Asia/Jakarta", day, 6, &t), 0);
	ck_assert_int_eq(t, utc(2026, 11, 30, 23, 0, 0));
	ck_assert_int_eq(report_local_instant("Asia/Jayapura", day, 6, &t), 0);
	ck_assert_int_eq(t, utc(2026, 11, 30, 21, 0, 0));
	ck_assert_int_eq(report_local_instant("Europe/Berlin", day, 6, &t), 0);
	ck_assert_int_eq(t, utc(2026, 12, 1, 5, 0, 0));
	ck_assert_int_eq(report_local_instant("UTC", day, 0, &t), 0);
	ck_assert_int_eq(t, utc(2026, 12, 1, 0, 0, 0));
	/* 23:30 UTC on Nov 30 is already Dec 1 in Jakarta. */
	ck_assert_int_eq(
	    report_local_day("Asia/Jakarta", utc(2026, 11, 30, 23, 30, 0), &d),
	    0);
	ck_assert_int_eq(d, day);
	ck_assert_int_eq(
	    report_local_day("UTC", utc(2026, 11, 30, 23, 30, 0), &d), 0);
	ck_assert_int_eq(d, day - 1);
}
END_TEST

START_TEST(zone_is_put_back)
{
	time_t t;

	setenv("TZ", "Asia/Makassar", 1);
	tzset();
	ck_assert_int_eq(report_local_instant("Asia/Jayapura", 0, 0, &t), 0);
	ck_assert_str_eq(getenv("TZ"), "Asia/Makassar");
	unsetenv("TZ");
	tzset();
	ck_assert_int_eq(report_local_instant("Asia/Jayapura", 0, 0, &t), 0);
	ck_assert_ptr_null(getenv("TZ"));
}
END_TEST

START_TEST(sql_times)
{
	char s[REPORT_SQLTIME_LEN];
	time_t t;

	report_sqltime(utc(2026, 11, 30, 23, 5, 9), s);
	ck_assert_str_eq(s, "2026-11-30 23:05:09");
	ck_assert_int_eq(report_sqltime_parse(s, &t), 0);
	ck_assert_int_eq(t, utc(2026, 11, 30, 23, 5, 9));
	ck_assert_int_eq(report_sqltime_parse("2026-11-30 23:05:09.123456", &t),
	                 0);
	ck_assert_int_eq(report_sqltime_parse("2026-11-30T23:05:09", &t), -1);
	ck_assert_int_eq(report_sqltime_parse("2026-11-30 24:05:09", &t), -1);
	ck_assert_int_eq(report_sqltime_parse("2026-11-3", &t), -1);
}
END_TEST

START_TEST(daily_runs_at_local_hour)
{
	struct report_rule r = {REPORT_DAILY, 6, 0, 0};
	time_t next, last;

	/* 05:59:59 on Dec 2 in Jakarta: the run of that morning is next. */
	ck_assert_int_eq(report_rule_next("Asia/Jakarta", &r,
	                                  utc(2026, 12, 1, 22, 59, 59), &next,
	                                  &last),
	                 0);
	ck_assert_int_eq(next, utc(2026, 12, 1, 23, 0, 0));
	ck_assert_int_eq(last, utc(2026, 11, 30, 23, 0, 0));
	/* At 06:00 sharp it is the last run, and the next is tomorrow. */
	ck_assert_int_eq(report_rule_next("Asia/Jakarta", &r,
	                                  utc(2026, 12, 1, 23, 0, 0), &next,
	                                  &last),
	                 0);
	ck_assert_int_eq(next, utc(2026, 12, 2, 23, 0, 0));
	ck_assert_int_eq(last, utc(2026, 12, 1, 23, 0, 0));
	/* The same rule in Jayapura runs two hours earlier in UTC. */
	ck_assert_int_eq(report_rule_next("Asia/Jayapura", &r,
	                                  utc(2026, 12, 1, 22, 59, 59), &next,
	                                  NULL),
	                 0);
	ck_assert_int_eq(next, utc(2026, 12, 2, 21, 0, 0));
}
END_TEST

START_TEST(weekly_and_monthly_runs)
{
	struct report_rule w = {REPORT_WEEKLY, 7, 1, 0};
	struct report_rule m = {REPORT_MONTHLY, 0, 0, 28};
	struct report_rule bad = {REPORT_MONTHLY, 0, 0, 29};
	time_t next, last;

	/* Tuesday Dec 1: next Monday is Dec 7, the last was Nov 30. */
	ck_assert_int_eq(report_rule_next("UTC", &w, utc(2026, 12, 1, 12, 0, 0),
	                                  &next, &last),
	                 0);
	ck_assert_int_eq(next, utc(2026, 12, 7, 7, 0, 0));
	ck_assert_int_eq(last, utc(2026, 11, 30, 7, 0, 0));
	/* Midnight in Jakarta on the 28th is 17:00 UTC on the 27th. */
	ck_assert_int_eq(report_rule_next("Asia/Jakarta", &m,
	                                  utc(2026, 12, 1, 12, 0, 0), &next,
	                                  &last),
	                 0);
	ck_assert_int_eq(next, utc(2026, 12, 27, 17, 0, 0));
	ck_assert_int_eq(last, utc(2026, 11, 27, 17, 0, 0));
	ck_assert_int_eq(report_rule_next("UTC", &bad,
	                                  utc(2026, 12, 1, 0, 0, 0), &next,
	                                  NULL),
	                 -1);
	w.hour = 24;
	ck_assert_int_eq(
	    report_rule_next("UTC", &w, utc(2026, 12, 1, 0, 0, 0), &next, NULL),
	    -1);
}
END_TEST

START_TEST(ranges_of_a_run)
{
	char f[REPORT_DATE_LEN], t[REPORT_DATE_LEN];
	int64_t day = report_days(2026, 12, 2), from, to; /* a Wednesday */

	report_range_of(REPORT_PREVIOUS_DAY, day, &from, &to);
	report_date_str(from, f);
	report_date_str(to, t);
	ck_assert_str_eq(f, "2026-12-01");
	ck_assert_str_eq(t, "2026-12-01");
	report_range_of(REPORT_PREVIOUS_WEEK, day, &from, &to);
	report_date_str(from, f);
	report_date_str(to, t);
	ck_assert_str_eq(f, "2026-11-23");
	ck_assert_str_eq(t, "2026-11-29");
	report_range_of(REPORT_PREVIOUS_WEEK, report_days(2026, 11, 30), &from,
	                &to); /* a Monday */
	report_date_str(from, f);
	ck_assert_str_eq(f, "2026-11-23");
	report_range_of(REPORT_PREVIOUS_MONTH, report_days(2026, 1, 5), &from,
	                &to);
	report_date_str(from, f);
	report_date_str(to, t);
	ck_assert_str_eq(f, "2025-12-01");
	ck_assert_str_eq(t, "2025-12-31");
	report_range_of(REPORT_PREVIOUS_MONTH, report_days(2028, 3, 1), &from,
	                &to);
	report_date_str(to, t);
	ck_assert_str_eq(t, "2028-02-29");
	report_range_of(REPORT_LAST_7_DAYS, day, &from, &to);
	ck_assert_int_eq(to - from + 1, 7);
	ck_assert_int_eq(to, day - 1);
	report_range_of(REPORT_LAST_30_DAYS, day, &from, &to);
	ck_assert_int_eq(to - from + 1, 30);
}
END_TEST

UNIT_MAIN("report_time", day_numbers, dates_and_spans, months_of_a_range,
          local_midnights, zone_is_put_back, sql_times,
          daily_runs_at_local_hour, weekly_and_monthly_runs, ranges_of_a_run)
