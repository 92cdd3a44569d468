#include "valid.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

int
valid_markup(const char *s, size_t n)
{
	static const char js[] = "javascript:";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '<' && i + 1 < n) {
			unsigned char d = (unsigned char)s[i + 1];
			if (isalpha(d) || d == '/' || d == '!' || d == '?')
				return 1;
		}
		if (c == 'j' || c == 'J') {
			/*
			 * Browsers skip tabs, newlines and other control
			 * characters inside the scheme ("java\tscript:").
			 */
			size_t k = 0, j = i;

			for (; j < n && js[k]; j++) {
				unsigned char e = (unsigned char)s[j];
				if (e < 0x20)
					continue;
				if (tolower(e) != js[k])
					break;
				k++;
			}
			if (!js[k])
				return 1;
		}
	}
	return 0;
}

int
valid_email(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t local, domain;
	const char *d;

	if (!at || n > 254)
		return 0;
	local = (size_t)(at - s);
	domain = n - local - 1;
	d = at + 1;
	if (local == 0 || local > 64 || domain < 3 || memchr(d, '@', domain))
		return 0;
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"[]", c))
			return 0;
	}
	if (d[0] == '.' || d[0] == '-' || d[domain - 1] == '.' ||
	    !memchr(d, '.', domain))
		return 0;
	for (size_t i = 0; i < domain; i++) {
		unsigned char c = (unsigned char)d[i];
		if (!(isalnum(c) || c == '-' || c == '.'))
			return 0;
		if (c == '.' && i + 1 < domain && d[i + 1] == '.')
			return 0;
	}
	return 1;
}

int
valid_phone(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (n > 0 && s[0] == '+')
		i = 1;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		digits++;
	}
	return digits >= 8 && digits <= 15;
}

int
valid_money(const char *s, size_t n, int allow_zero)
{
	size_t i = 0, intd = 0, frac = 0;
	int nonzero = 0;

	while (i < n && isdigit((unsigned char)s[i])) {
		nonzero |= s[i] != '0';
		intd++;
		i++;
	}
	/* No leading zeros ("007"), as JSON itself forbids. */
	if (intd == 0 || intd > 12 || (intd > 1 && s[0] == '0'))
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)s[i])) {
			nonzero |= s[i] != '0';
			frac++;
			i++;
		}
		if (frac == 0 || frac > 2)
			return 0;
	}
	if (i != n)
		return 0;
	return nonzero || allow_zero;
}

int
valid_date(const char *s, size_t n)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int64_t y, m, d;
	int leap;

	if (n != 10 || s[4] != '-' || s[7] != '-' ||
	    parse_int64_n(s, 4, 1900, 9999, &y) < 0 ||
	    parse_int64_n(s + 5, 2, 1, 12, &m) < 0 ||
	    parse_int64_n(s + 8, 2, 1, 31, &d) < 0)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

int
valid_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 ||
	       inet_pton(AF_INET6, s, addr) == 1;
}

int
valid_slug(const char *s, size_t n)
{
	if (n < 3 || n > 40)
		return 0;
	if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '-'))
			return 0;
	}
	return 1;
}
