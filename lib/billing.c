#include "billing.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
billing_days_in_month(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12)
		return 0;
	return mdays[m - 1] + (m == 2 && leap);
}

int
billing_period_parse(const char *s, int *y, int *m)
{
	int64_t yy, mm;

	if (strlen(s) != 7 || s[4] != '-' ||
	    parse_int64_n(s, 4, 1900, 9999, &yy) < 0 ||
	    parse_int64_n(s + 5, 2, 1, 12, &mm) < 0)
		return -1;
	*y = (int)yy;
	*m = (int)mm;
	return 0;
}

int
billing_date_parse(const char *s, int *y, int *m, int *d)
{
	int64_t dd;

	if (strlen(s) != 10 || s[7] != '-')
		return -1;
	{
		char period[BILLING_PERIOD_LEN];

		memcpy(period, s, 7);
		period[7] = '\0';
		if (billing_period_parse(period, y, m) < 0)
			return -1;
	}
	if (parse_int64_n(s + 8, 2, 1, billing_days_in_month(*y, *m), &dd) < 0)
		return -1;
	*d = (int)dd;
	return 0;
}

void
billing_month_add(int *y, int *m, int delta)
{
	int months = *y * 12 + (*m - 1) + delta;

	*y = months / 12;
	*m = months % 12 + 1;
}

void
billing_period_format(int y, int m, char out[BILLING_PERIOD_LEN])
{
	snprintf(out, BILLING_PERIOD_LEN, "%04u-%02u", (unsigned)y % 10000u,
	         (unsigned)m % 100u);
}

void
billing_date_format(int y, int m, int d, char out[BILLING_DATE_LEN])
{
	snprintf(out, BILLING_DATE_LEN, "%04u-%02u-%02u", (unsigned)y % 10000u,
	         (unsigned)m % 100u, (unsigned)d % 100u);
}

int
billing_due_date(const char *period, int billing_day,
                 char out[BILLING_DATE_LEN])
{
	int y, m, last;

	if (billing_period_parse(period, &y, &m) < 0 || billing_day < 1 ||
	    billing_day > 31)
		return -1;
	last = billing_days_in_month(y, m);
	billing_date_format(y, m, billing_day > last ? last : billing_day, out);
	return 0;
}

/* Makes tz the process's zone for localtime_r() and mktime(); 0 or -1. */
static int
use_zone(const char *tz)
{
	/* The zone loaded last: tzset() reads a file, so skip repeats. */
	static char current[128];

	if (!tz || !*tz)
		tz = "UTC";
	if (strcmp(current, tz) != 0) {
		if (setenv("TZ", tz, 1) < 0)
			return -1;
		tzset();
		snprintf(current, sizeof(current), "%s", tz);
	}
	return 0;
}

int
billing_today(const char *tz, time_t now, char out[BILLING_DATE_LEN])
{
	struct tm tm;

	if (use_zone(tz) < 0)
		return -1;
	if (!localtime_r(&now, &tm))
		return -1;
	billing_date_format(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out);
	return 0;
}

int
billing_day_start(const char *tz, const char *date, time_t *out)
{
	struct tm tm;
	int y, m, d;

	if (billing_date_parse(date, &y, &m, &d) < 0 || use_zone(tz) < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

int
billing_period_of(const char *date, char out[BILLING_PERIOD_LEN])
{
	int y, m, d;

	if (billing_date_parse(date, &y, &m, &d) < 0)
		return -1;
	billing_period_format(y, m, out);
	return 0;
}

int
billing_month_bounds(const char *date, char prev[BILLING_DATE_LEN],
                     char start[BILLING_DATE_LEN], char next[BILLING_DATE_LEN])
{
	int y, m, d, py, pm, ny, nm;

	if (billing_date_parse(date, &y, &m, &d) < 0)
		return -1;
	py = ny = y;
	pm = nm = m;
	billing_month_add(&py, &pm, -1);
	billing_month_add(&ny, &nm, 1);
	billing_date_format(py, pm, 1, prev);
	billing_date_format(y, m, 1, start);
	billing_date_format(ny, nm, 1, next);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
billing_parse_instant(const char *s, time_t *out)
{
	int64_t v, hh, mi, ss;
	char date[BILLING_DATE_LEN];
	int y, m, d;

	if (parse_int64(s, 0, INT64_C(253402300799), &v) == 0) {
		*out = (time_t)v;
		return 0;
	}
	if (strlen(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    s[19] != 'Z')
		return -1;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (billing_date_parse(date, &y, &m, &d) < 0 ||
	    parse_int64_n(s + 11, 2, 0, 23, &hh) < 0 ||
	    parse_int64_n(s + 14, 2, 0, 59, &mi) < 0 ||
	    parse_int64_n(s + 17, 2, 0, 59, &ss) < 0)
		return -1;
	*out = (time_t)(days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 +
	                ss);
	return 0;
}
