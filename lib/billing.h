/*
 * Billing calendar arithmetic: periods ("YYYY-MM"), due dates and the
 * tenant's "today".  Pure functions of their arguments (plus the zone
 * database), so that the unit tests cover them without a database.
 *
 * A period is a calendar month.  The invoice of a period falls due on the
 * customer's billing_day of that month; a billing_day past the month's end
 * (29..31 in February, 31 in April) is clamped to the last day, so the
 * arithmetic stays right even though the API limits billing_day to 1..28.
 *
 * Dates handed to the database are "YYYY-MM-DD" in the tenant's time zone
 * (tenants.timezone, an IANA name such as "Asia/Jakarta").
 */
#ifndef RTRW_BILLING_H
#define RTRW_BILLING_H

#include <time.h>

#define BILLING_DATE_LEN   11 /* "YYYY-MM-DD" and NUL */
#define BILLING_PERIOD_LEN 8  /* "YYYY-MM" and NUL */

/* Days in month m (1..12) of year y, leap years included. */
int billing_days_in_month(int y, int m);

/* Parses "YYYY-MM" (year 1900..9999); 0 or -1. */
int billing_period_parse(const char *s, int *y, int *m);

/* Parses a real calendar date "YYYY-MM-DD"; 0 or -1. */
int billing_date_parse(const char *s, int *y, int *m, int *d);

/* Moves (y, m) by delta months (negative goes back). */
void billing_month_add(int *y, int *m, int delta);

/* Formats a period and a date. */
void billing_period_format(int y, int m, char out[BILLING_PERIOD_LEN]);
void billing_date_format(int y, int m, int d, char out[BILLING_DATE_LEN]);

/*
 * The due date of period ("YYYY-MM") for a customer billed on day
 * billing_day (1..31, clamped to the month's length).  0, or -1 when the
 * period or the day is invalid.
 */
int billing_due_date(const char *period, int billing_day,
                     char out[BILLING_DATE_LEN]);

/*
 * The calendar date at instant now in time zone tz (an IANA name; "UTC"
 * or an unknown name give UTC, as glibc does).  Switches the process's
 * TZ for the call and restores it, so it is not thread-safe; workers and
 * jobs are single-threaded.  0 or -1.
 */
int billing_today(const char *tz, time_t now, char out[BILLING_DATE_LEN]);

/*
 * The instant at which date ("YYYY-MM-DD") begins in time zone tz: its
 * local midnight (the daily usage buckets start there).  Not thread-safe,
 * as billing_today().  0 or -1.
 */
int billing_day_start(const char *tz, const char *date, time_t *out);

/* The period ("YYYY-MM") a date belongs to; 0 or -1. */
int billing_period_of(const char *date, char out[BILLING_PERIOD_LEN]);

/*
 * The first days of the month of date, of the month before and of the
 * month after, for half-open ranges [start, next) in SQL.  0 or -1.
 */
int billing_month_bounds(const char *date, char prev[BILLING_DATE_LEN],
                         char start[BILLING_DATE_LEN],
                         char next[BILLING_DATE_LEN]);

/*
 * Parses an instant "YYYY-MM-DDTHH:MM:SSZ" (UTC) or a decimal Unix time;
 * used by the jobs' --now option.  0 or -1.
 */
int billing_parse_instant(const char *s, time_t *out);

#endif
