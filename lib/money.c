#include "money.h"

#include <stdio.h>

int
money_parse(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	int neg = 0, digits = 0, fdigits = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 15)
			return -1;
		whole = whole * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (++fdigits > 2)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
		if (fdigits == 0)
			return -1;
		if (fdigits == 1)
			frac *= 10;
	}
	if (*s != '\0')
		return -1;
	*cents = (whole * 100 + frac) * (neg ? -1 : 1);
	return 0;
}

void
money_format(int64_t cents, char out[MONEY_STR_MAX])
{
	uint64_t u =
	    cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, MONEY_STR_MAX, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(u / 100), (unsigned long long)(u % 100));
}

int
money_growth(int64_t cur, int64_t prev, int64_t *hundredths)
{
	int64_t num, q, r;

	if (prev == 0)
		return 0;
	/* (cur - prev) * 10000 / prev, rounded half away from zero. */
	num = (cur - prev) * 10000;
	q = num / prev;
	r = num % prev;
	if (r != 0) {
		int64_t ar = r < 0 ? -r : r, ap = prev < 0 ? -prev : prev;
		int neg = (num < 0) != (prev < 0);

		if (2 * ar >= ap)
			q += neg ? -1 : 1;
	}
	*hundredths = q;
	return 1;
}

int
money_prorate(int64_t cents, int64_t mul, int64_t div, int64_t *out)
{
	const int64_t limit = INT64_C(1) << 62;
	int64_t a, num, q, r;

	if (div <= 0 || mul < 0 || cents == INT64_MIN)
		return -1;
	a = cents < 0 ? -cents : cents;
	if (mul != 0 && a > limit / mul)
		return -1;
	num = a * mul;
	q = num / div;
	r = num % div;
	/* Half away from zero: a remainder of at least half a divisor. */
	if (r >= div - r)
		q++;
	*out = cents < 0 ? -q : q;
	return 0;
}
