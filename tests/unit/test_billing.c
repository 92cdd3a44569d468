#include <stdint.h>
#include <string.h>
#include <time.h>

#include "billing.h"
#include "money.h"
#include "tests/unit/unit.h"

START_TEST(days_in_month)
{
	ck_assert_int_eq(billing_days_in_month(2026, 2), 28);
	ck_assert_int_eq(billing_days_in_month(2028, 2), 29);
	ck_assert_int_eq(billing_days_in_month(2100, 2), 28);
	ck_assert_int_eq(billing_days_in_month(2000, 2), 29);
	ck_assert_int_eq(billing_days_in_month(2026, 4), 30);
	ck_assert_int_eq(billing_days_in_month(2026, 12), 31);
	ck_assert_int_eq(billing_days_in_month(2026, 13), 0);
}
END_TEST

START_TEST(due_dates)
{
	char out[BILLING_DATE_LEN];

	ck_assert_int_eq(billing_due_date("2026-02", 28, out), 0);
	ck_assert_str_eq(out, "2026-02-28");
	/* Days past the month's end are clamped to its last day. */
	ck_assert_int_eq(billing_due_date("2026-02", 29, out), 0);
	ck_assert_str_eq(out, "2026-02-28");
	ck_assert_int_eq(billing_due_date("2028-02", 31, out), 0);
	ck_assert_str_eq(out, "2028-02-29");
	ck_assert_int_eq(billing_due_date("2026-04", 31, out), 0);
	ck_assert_str_eq(out, "2026-04-30");
	ck_assert_int_eq(billing_due_date("2026-01", 31, out), 0);
	ck_assert_str_eq(out, "2026-01-31");
	ck_assert_int_eq(billing_due_date("2026-12", 28, out), 0);
	ck_assert_str_eq(out, "2026-12-28");
	ck_assert_int_eq(billing_due_date("2027-01", 1, out), 0);
	ck_assert_str_eq(out, "2027-01-01");
	ck_assert_int_eq(billing_due_date("2026-13", 1, out), -1);
	ck_assert_int_eq(billing_due_date("2026-1", 1, out), -1);
	ck_assert_int_eq(billing_due_date("2026-01", 0, out), -1);
	ck_assert_int_eq(billing_due_date("2026-01", 32, out), -1);
}
END_TEST

START_TEST(months_and_bounds)
{
	char p[BILLING_DATE_LEN], s[BILLING_DATE_LEN], n[BILLING_DATE_LEN];
	char period[BILLING_PERIOD_LEN];
	int y = 2026, m = 12;

	billing_month_add(&y, &m, 1);
	ck_assert_int_eq(y, 2027);
	ck_assert_int_eq(m, 1);
	billing_month_add(&y, &m, -13);
	ck_assert_int_eq(y, 2025);
	ck_assert_int_eq(m, 12);
	ck_assert_int_eq(billing_month_bounds("2027-01-15", p, s, n), 0);
	ck_assert_str_eq(p, "2026-12-01");
	ck_assert_str_eq(s, "2027-01-01");
	ck_assert_str_eq(n, "2027-02-01");
	ck_assert_int_eq(billing_month_bounds("2026-12-31", p, s, n), 0);
	ck_assert_str_eq(n, "2027-01-01");
	ck_assert_int_eq(billing_month_bounds("2026-02-29", p, s, n), -1);
	ck_assert_int_eq(billing_period_of("2028-02-29", period), 0);
	ck_assert_str_eq(period, "2028-02");
}
END_TEST

START_TEST(today_in_zone)
{
	char out[BILLING_DATE_LEN];
	time_t t;

	/* 2026-03-10T17:00:00Z is midnight on the 11th in Jakarta (UTC+7). */
	ck_assert_int_eq(billing_parse_instant("2026-03-10T17:00:00Z", &t), 0);
	ck_assert_int_eq(billing_today("Asia/Jakarta", t, out), 0);
	ck_assert_str_eq(out, "2026-03-11");
	ck_assert_int_eq(billing_today("UTC", t, out), 0);
	ck_assert_str_eq(out, "2026-03-10");
	ck_assert_int_eq(billing_today("Asia/Jakarta", t - 1, out), 0);
	ck_assert_str_eq(out, "2026-03-10");
	/* New York on EDT (from 2026-03-08): UTC-4. */
	ck_assert_int_eq(billing_parse_instant("2026-03-11T03:59:59Z", &t), 0);
	ck_assert_int_eq(billing_today("America/New_York", t, out), 0);
	ck_assert_str_eq(out, "2026-03-10");
	/* Year end in a zone ahead of UTC. */
	ck_assert_int_eq(billing_parse_instant("2026-12-31T18:00:00Z", &t), 0);
	ck_assert_int_eq(billing_today("Asia/Jayapura", t, out), 0);
	ck_assert_str_eq(out, "2027-01-01");
	ck_assert_int_eq(billing_parse_instant("1772989200", &t), 0);
	ck_assert_int_eq(billing_parse_instant("2026-03-10 17:00:00", &t), -1);
	ck_assert_int_eq(billing_parse_instant("2026-02-30T00:00:00Z", &t), -1);
}
END_TEST

START_TEST(money)
{
	char out[MONEY_STR_MAX];
	int64_t c, g;

	ck_assert_int_eq(money_parse("150000.50", &c), 0);
	ck_assert_int_eq(c, 15000050);
	ck_assert_int_eq(money_parse("0.5", &c), 0);
	ck_assert_int_eq(c, 50);
	ck_assert_int_eq(money_parse("-12", &c), 0);
	ck_assert_int_eq(c, -1200);
	ck_assert_int_eq(money_parse("1.234", &c), -1);
	ck_assert_int_eq(money_parse("1.", &c), -1);
	ck_assert_int_eq(money_parse("", &c), -1);
	ck_assert_int_eq(money_parse("1e5", &c), -1);
	money_format(45000050, out);
	ck_assert_str_eq(out, "450000.50");
	money_format(-5, out);
	ck_assert_str_eq(out, "-0.05");
	/* 450000.50 vs 400000.00: 12.500125% -> 12.50. */
	ck_assert_int_eq(money_growth(45000050, 40000000, &g), 1);
	ck_assert_int_eq(g, 1250);
	ck_assert_int_eq(money_growth(10000000, 30000000, &g), 1);
	ck_assert_int_eq(g, -6667);
	ck_assert_int_eq(money_growth(3, 2, &g), 1);
	ck_assert_int_eq(g, 5000);
	ck_assert_int_eq(money_growth(1, 0, &g), 0);
	/* 1/3 = 33.33%. */
	ck_assert_int_eq(money_growth(4, 3, &g), 1);
	ck_assert_int_eq(g, 3333);
	ck_assert_int_eq(money_growth(200001, 200000, &g), 1);
	ck_assert_int_eq(g, 0); /* 0.0005% */
	ck_assert_int_eq(money_growth(20001, 20000, &g), 1);
	ck_assert_int_eq(g, 1); /* 0.005% is half a hundredth: up */
	ck_assert_int_eq(money_growth(19999, 20000, &g), 1);
	ck_assert_int_eq(g, -1);
}
END_TEST

UNIT_MAIN("billing", days_in_month, due_dates, months_and_bounds, today_in_zone,
          money)
