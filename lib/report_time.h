/*
 * The calendar of reports: day arithmetic on dates, the months a date
 * range spans, the UTC instants of a tenant's local midnights, and when a
 * schedule runs and which days a run covers.  Pure functions of their
 * arguments and the zone database, so that the unit tests cover them
 * without a database (tests/unit/test_report_time.c).
 *
 * Dates are "YYYY-MM-DD" in the tenant's time zone (an IANA name such as
 * "Asia/Jakarta"); instants are time_t (UTC).  Functions that need a zone
 * switch the process's TZ for the call and put back whatever it was, so
 * they are not thread-safe (workers and jobs are single-threaded).
 *
 * Layer: services (beside lib/billing.h, whose date helpers it uses).
 */
#ifndef RTRW_REPORT_TIME_H
#define RTRW_REPORT_TIME_H

#include <stdint.h>
#include <time.h>

#define REPORT_DATE_LEN 11 /* "YYYY-MM-DD" and NUL */
/* "YYYY-MM-DD HH:MM:SS" and NUL, with room the compiler can prove. */
#define REPORT_SQLTIME_LEN 32

/* Days since 1970-01-01 of a real date (proleptic Gregorian). */
int64_t report_days(int y, int m, int d);

/* The date of a day number of report_days(). */
void report_civil(int64_t days, int *y, int *m, int *d);

/* ISO weekday of a day number: 1 Monday .. 7 Sunday. */
int report_weekday(int64_t days);

/*
 * Parses a real date "YYYY-MM-DD" into its day number; 0 or -1.
 */
int report_date_days(const char *s, int64_t *days);

/* Formats a day number as "YYYY-MM-DD". */
void report_date_str(int64_t days, char out[REPORT_DATE_LEN]);

/* Days from..to inclusive (to - from + 1); -1 when a date is bad. */
int64_t report_span_days(const char *from, const char *to);

/*
 * One month of a range: its "YYYY-MM" and the first and last days of the
 * month that lie within the range.
 */
struct report_month {
	char month[16];      /* "YYYY-MM" */
	int64_t first, last; /* day numbers */
};

/*
 * The months that from..to (day numbers, from <= to) touches, in order,
 * into out (at most max).  Returns how many, or -1 when there are more
 * than max.
 */
int report_months(int64_t from, int64_t to, struct report_month *out, int max);

/*
 * The UTC instant of the local time hour:00 on day number days in zone
 * tz.  A local time that does not exist (a DST gap) is the instant the
 * clock jumps to, as mktime() normalises it.  0 or -1.
 */
int report_local_instant(const char *tz, int64_t days, int hour, time_t *out);

/* The local date (day number) of instant t in zone tz; 0 or -1. */
int report_local_day(const char *tz, time_t t, int64_t *days);

/* Formats t as "YYYY-MM-DD HH:MM:SS" in UTC, for DATETIME parameters. */
void report_sqltime(time_t t, char out[REPORT_SQLTIME_LEN]);

/* Parses "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) back; 0 or -1. */
int report_sqltime_parse(const char *s, time_t *out);

/* How often a schedule runs. */
enum report_freq { REPORT_DAILY, REPORT_WEEKLY, REPORT_MONTHLY };

/* The days a scheduled run covers, relative to the day it runs. */
enum report_range {
	REPORT_PREVIOUS_DAY,
	REPORT_PREVIOUS_WEEK, /* Monday to Sunday of the week before */
	REPORT_PREVIOUS_MONTH,
	REPORT_LAST_7_DAYS, /* the 7 days before the run's day */
	REPORT_LAST_30_DAYS,
};

/*
 * When a schedule runs: at hour:00 local time every day, on day_of_week
 * (1 Monday .. 7 Sunday) of every week, or on day_of_month (1..28) of
 * every month.
 */
struct report_rule {
	enum report_freq freq;
	int hour, day_of_week, day_of_month;
};

/*
 * The first run of rule strictly after instant now, in zone tz (*next),
 * and the last one at or before now (*last; may be NULL).  0 or -1.
 */
int report_rule_next(const char *tz, const struct report_rule *rule, time_t now,
                     time_t *next, time_t *last);

/*
 * The dates a run on local day `day` covers: *from..*to (day numbers).
 */
void report_range_of(enum report_range range, int64_t day, int64_t *from,
                     int64_t *to);

#endif
