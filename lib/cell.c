#include "cell.h"

int
cell_formula_risk(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	switch (s[0]) {
	case '=':
	case '+':
	case '-':
	case '@':
	case '\t':
	case '\r':
		return 1;
	default:
		return 0;
	}
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
cell_decimal_ok(const char *s, size_t n)
{
	size_t i = 0, digits = 0, frac = 0;

	if (n == 0 || n > CELL_NUM_MAX)
		return -1;
	if (s[0] == '-')
		i++;
	for (; i < n && is_digit(s[i]); i++)
		digits++;
	if (digits == 0)
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && is_digit(s[i]); i++)
			frac++;
		if (frac == 0)
			return -1;
	}
	return i == n ? 0 : -1;
}

/* Reads exactly len digits at s into *out; 0 or -1. */
static int
digits_at(const char *s, size_t len, int *out)
{
	int v = 0;

	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int
cell_parse_date(const char *s, size_t n, struct cell_date *out)
{
	struct cell_date d = {0, 0, 0, 0, 0, 0};
	size_t i;

	if (n < 10 || s[4] != '-' || s[7] != '-' ||
	    digits_at(s, 4, &d.year) < 0 || digits_at(s + 5, 2, &d.month) < 0 ||
	    digits_at(s + 8, 2, &d.day) < 0)
		return -1;
	if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1 ||
	    d.day > days_in_month(d.year, d.month))
		return -1;
	i = 10;
	if (i < n) {
		if ((s[i] != ' ' && s[i] != 'T') || n - i < 9 ||
		    s[i + 3] != ':' || s[i + 6] != ':' ||
		    digits_at(s + i + 1, 2, &d.hour) < 0 ||
		    digits_at(s + i + 4, 2, &d.min) < 0 ||
		    digits_at(s + i + 7, 2, &d.sec) < 0)
			return -1;
		/* A leap second (":60") is refused like any other junk. */
		if (d.hour > 23 || d.min > 59 || d.sec > 59)
			return -1;
		i += 9;
		if (i < n && s[i] == '.') {
			size_t f = 0;

			for (i++; i < n && is_digit(s[i]); i++)
				f++;
			if (f == 0 || f > 9)
				return -1;
		}
		if (i < n && s[i] == 'Z')
			i++;
		if (i != n)
			return -1;
	}
	*out = d;
	return 0;
}

size_t
cell_utf8_prefix(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], cp;
		size_t need;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (n - i - 1 < need)
			return i;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF. */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return n;
}

const char *
cell_kind_name(enum cell_kind k)
{
	static const char *const names[CELL__MAX] = {
	    "text", "integer", "decimal", "money", "date", "date-time",
	};

	return (int)k >= 0 && k < CELL__MAX ? names[k] : "unknown";
}
