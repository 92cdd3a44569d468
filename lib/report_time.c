#include "report_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"

/*
 * Howard Hinnant's days_from_civil and civil_from_days: exact integer
 * arithmetic on the proleptic Gregorian calendar, no time zone involved.
 */
int64_t
report_days(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
report_civil(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
report_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (ISO 4). */
	int64_t w = ((days + 3) % 7 + 7) % 7;

	return (int)w + 1;
}

int
report_date_days(const char *s, int64_t *days)
{
	int y, m, d;

	if (!s || billing_date_parse(s, &y, &m, &d) < 0)
		return -1;
	*days = report_days(y, m, d);
	return 0;
}

void
report_date_str(int64_t days, char out[REPORT_DATE_LEN])
{
	int y, m, d;

	report_civil(days, &y, &m, &d);
	billing_date_format(y, m, d, out);
}

int64_t
report_span_days(const char *from, const char *to)
{
	int64_t a, b;

	if (report_date_days(from, &a) < 0 || report_date_days(to, &b) < 0)
		return -1;
	return b - a + 1;
}

int
report_months(int64_t from, int64_t to, struct report_month *out, int max)
{
	int n = 0;

	for (int64_t day = from; day <= to;) {
		int y, m, d;
		int64_t next;

		if (n == max)
			return -1;
		report_civil(day, &y, &m, &d);
		snprintf(out[n].month, sizeof(out[n].month), "%04d-%02d",
		         y % 10000, m);
		billing_month_add(&y, &m, 1);
		next = report_days(y, m, 1);
		out[n].first = day;
		out[n].last = next - 1 < to ? next - 1 : to;
		n++;
		day = next;
	}
	return n;
}

/*
 * The process's zone for the length of one computation.  TZ is put back
 * as it was (set or unset), so that lib/billing.c, which remembers the
 * zone it set last, still finds it in place.
 */
struct zone_save {
	char old[128];
	int had;
};

static int
zone_push(struct zone_save *z, const char *tz)
{
	const char *cur = getenv("TZ");

	z->had = cur != NULL;
	if (cur &&
	    snprintf(z->old, sizeof(z->old), "%s", cur) >= (int)sizeof(z->old))
		return -1;
	if (setenv("TZ", tz && *tz ? tz : "UTC", 1) < 0)
		return -1;
	tzset();
	return 0;
}

static void
zone_pop(const struct zone_save *z)
{
	if (z->had)
		setenv("TZ", z->old, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* The local instant of hour:00 on day, in the zone already set. */
static int
local_instant(int64_t days, int hour, time_t *out)
{
	struct tm tm;
	int y, m, d;

	memset(&tm, 0, sizeof(tm));
	report_civil(days, &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hour;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static int
local_day(time_t t, int64_t *days)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return -1;
	*days = report_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

int
report_local_instant(const char *tz, int64_t days, int hour, time_t *out)
{
	struct zone_save z;
	int rc;

	if (zone_push(&z, tz) < 0)
		return -1;
	rc = local_instant(days, hour, out);
	zone_pop(&z);
	return rc;
}

int
report_local_day(const char *tz, time_t t, int64_t *days)
{
	struct zone_save z;
	int rc;

	if (zone_push(&z, tz) < 0)
		return -1;
	rc = local_day(t, days);
	zone_pop(&z);
	return rc;
}

void
report_sqltime(time_t t, char out[REPORT_SQLTIME_LEN])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, REPORT_SQLTIME_LEN, "1970-01-01 00:00:00");
		return;
	}
	snprintf(out, REPORT_SQLTIME_LEN, "%04d-%02d-%02d %02d:%02d:%02d",
	         (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
report_sqltime_parse(const char *s, time_t *out)
{
	int64_t days;
	int hh, mi, ss;
	char date[REPORT_DATE_LEN];

	if (!s || strlen(s) < 19 || s[10] != ' ' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (report_date_days(date, &days) < 0)
		return -1;
	for (int i = 11; i < 19; i++)
		if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
			return -1;
	hh = (s[11] - '0') * 10 + (s[12] - '0');
	mi = (s[14] - '0') * 10 + (s[15] - '0');
	ss = (s[17] - '0') * 10 + (s[18] - '0');
	if (hh > 23 || mi > 59 || ss > 60)
		return -1;
	*out = (time_t)(days * 86400 + hh * 3600 + mi * 60 + ss);
	return 0;
}

static int
rule_matches(const struct report_rule *rule, int64_t day)
{
	int y, m, d;

	switch (rule->freq) {
	case REPORT_DAILY:
		return 1;
	case REPORT_WEEKLY:
		return report_weekday(day) == rule->day_of_week;
	case REPORT_MONTHLY:
		report_civil(day, &y, &m, &d);
		return d == rule->day_of_month;
	}
	return 0;
}

/*
 * Runs fall on local days; a monthly rule matches at least once in any
 * 31 days, so looking 40 days either way always finds both runs (with
 * room for the local day of now to differ from the day of a run that
 * a DST jump moved).
 */
#define RULE_WINDOW 40

int
report_rule_next(const char *tz, const struct report_rule *rule, time_t now,
                 time_t *next, time_t *last)
{
	struct zone_save z;
	int64_t today;
	int found_next = 0, found_last = last == NULL;
	time_t t;

	if (rule->hour < 0 || rule->hour > 23 ||
	    (rule->freq == REPORT_WEEKLY &&
	     (rule->day_of_week < 1 || rule->day_of_week > 7)) ||
	    (rule->freq == REPORT_MONTHLY &&
	     (rule->day_of_month < 1 || rule->day_of_month > 28)))
		return -1;
	if (zone_push(&z, tz) < 0)
		return -1;
	if (local_day(now, &today) < 0)
		goto out;
	for (int64_t d = today - 1; d <= today + RULE_WINDOW && !found_next;
	     d++) {
		if (!rule_matches(rule, d) || local_instant(d, rule->hour, &t))
			continue;
		if (t > now) {
			*next = t;
			found_next = 1;
		}
	}
	for (int64_t d = today + 1; d >= today - RULE_WINDOW && !found_last;
	     d--) {
		if (!rule_matches(rule, d) || local_instant(d, rule->hour, &t))
			continue;
		if (t <= now) {
			*last = t;
			found_last = 1;
		}
	}
out:
	zone_pop(&z);
	return found_next && found_last ? 0 : -1;
}

void
report_range_of(enum report_range range, int64_t day, int64_t *from,
                int64_t *to)
{
	int y, m, d;

	switch (range) {
	case REPORT_PREVIOUS_DAY:
		*from = *to = day - 1;
		return;
	case REPORT_PREVIOUS_WEEK: {
		int64_t monday = day - (report_weekday(day) - 1);

		*from = monday - 7;
		*to = monday - 1;
		return;
	}
	case REPORT_PREVIOUS_MONTH:
		report_civil(day, &y, &m, &d);
		*to = report_days(y, m, 1) - 1;
		billing_month_add(&y, &m, -1);
		*from = report_days(y, m, 1);
		return;
	case REPORT_LAST_7_DAYS:
		*from = day - 7;
		*to = day - 1;
		return;
	case REPORT_LAST_30_DAYS:
		*from = day - 30;
		*to = day - 1;
		return;
	}
	*from = *to = day - 1;
}
