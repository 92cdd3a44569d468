/*
 * Money as integer cents.  Amounts arrive as decimal literals ("150000.00"
 * from a JSON body or a DECIMAL(14,2) column) and leave as decimal
 * literals; in between they are int64 cents, never binary floating point.
 * 14 digits fit an int64 with room for sums of millions of rows.
 */
#ifndef RTRW_MONEY_H
#define RTRW_MONEY_H

#include <stdint.h>

#define MONEY_STR_MAX 32

/*
 * Parses "-?digits[.d[d]]" (at most 15 integer digits) into cents.
 * Returns 0, or -1 for anything else (empty, junk, more decimals).
 */
int money_parse(const char *s, int64_t *cents);

/* Formats cents as "-?digits.dd" into out. */
void money_format(int64_t cents, char out[MONEY_STR_MAX]);

/*
 * The growth from prev to cur in hundredths of a percent, rounded half
 * away from zero: (cur - prev) * 100 / prev.  Returns 1 and stores it, or
 * 0 when prev is 0 (growth is undefined: the API says null).
 */
int money_growth(int64_t cur, int64_t prev, int64_t *hundredths);

/*
 * cents * mul / div in exact integer arithmetic, rounded once, half away
 * from zero (round_half_up of a decimal to the cent): the pro-rata part
 * of an amount, e.g. a monthly price difference for some hours of a
 * 720-hour month.  div must be positive and mul not negative.  Returns 0
 * and stores it, or -1 when an argument is out of range or the product
 * does not fit (|cents * mul| above 2^62).
 */
int money_prorate(int64_t cents, int64_t mul, int64_t div, int64_t *out);

#endif
