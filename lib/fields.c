#include "fields.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "json.h"
#include "util.h"

size_t
fields_count(const struct field *fields)
{
	size_t n = 0;

	while (fields && fields[n].name)
		n++;
	return n;
}

int
fields_index(const struct field *fields, const char *name)
{
	for (size_t i = 0; fields && fields[i].name; i++)
		if (strcmp(fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
fields_type_name(enum ftype t)
{
	switch (t) {
	case FT_INT:
	case FT_ID:
		return "an integer";
	case FT_BOOL:
		return "a boolean";
	case FT_MONEY:
		return "a number";
	default:
		return "a string";
	}
}

int
fields_has_markup(const char *s, size_t n)
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
fields_email_ok(const char *s, size_t n)
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
fields_phone_ok(const char *s, size_t n)
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
fields_money_ok(const char *s, size_t n, int allow_zero)
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
fields_date_ok(const char *s, size_t n)
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
fields_ip_ok(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 ||
	       inet_pton(AF_INET6, s, addr) == 1;
}

static int
slug_ok(const char *s, size_t n)
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

/* Validates one present, non-null value; returns an error or NULL. */
static const char *
check_value(struct req *r, const struct field *f, const cJSON *item,
            struct fval *v)
{
	switch (f->type) {
	case FT_INT:
	case FT_ID:
		if (!cJSON_IsNumber(item))
			return "must be an integer";
		if (json_get_int64(item, f->type == FT_ID ? 1 : f->min,
		                   f->type == FT_ID ? INT64_MAX : f->max,
		                   &v->i) < 0) {
			if (f->type == FT_ID)
				return "must be a positive integer id";
			return arena_printf(r->a,
			                    "must be an integer from %lld to "
			                    "%lld",
			                    (long long)f->min,
			                    (long long)f->max);
		}
		return NULL;
	case FT_BOOL:
		if (!cJSON_IsBool(item))
			return "must be true or false";
		v->i = cJSON_IsTrue(item);
		return NULL;
	case FT_MONEY:
		if (!cJSON_IsNumber(item))
			return "must be a number";
		v->s = json_number_text(item);
		v->len = strlen(v->s);
		if (!fields_money_ok(v->s, v->len, f->flags & F_MONEY_ZERO))
			return f->flags & F_MONEY_ZERO
			           ? "must be zero or a positive amount "
			             "with at most 2 decimals"
			           : "must be a positive amount with at "
			             "most 2 decimals";
		return NULL;
	default:
		break;
	}

	/* Everything else is a string. */
	if (!cJSON_IsString(item))
		return "must be a string";
	v->s = item->valuestring;
	v->len = strlen(v->s);
	switch (f->type) {
	case FT_STRING:
	case FT_PASSWORD: {
		size_t chars = utf8_len(v->s, v->len);

		if ((int64_t)chars < f->min ||
		    (f->max && (int64_t)chars > f->max))
			return arena_printf(
			    r->a, "must be %lld to %lld characters",
			    (long long)f->min, (long long)f->max);
		if ((f->flags & F_TEXT) && fields_has_markup(v->s, v->len))
			return "must not contain HTML or script markup";
		return NULL;
	}
	case FT_EMAIL:
		return fields_email_ok(v->s, v->len) ? NULL
		                                     : "must be a valid email "
		                                       "address";
	case FT_PHONE:
		return fields_phone_ok(v->s, v->len)
		           ? NULL
		           : "must be a phone number of 8 to 15 digits, "
		             "optionally starting with +";
	case FT_ENUM:
		for (const char *const *c = f->choices; c && *c; c++)
			if (strcmp(*c, v->s) == 0)
				return NULL;
		{
			struct buf b = BUF_INIT(512);
			const char *msg;

			buf_adds(&b, "must be one of: ");
			for (const char *const *c = f->choices; c && *c; c++)
				buf_addf(&b, "%s%s",
				         c == f->choices ? "" : ", ", *c);
			msg = arena_strdup(r->a, b.s);
			buf_release(&b);
			return msg ? msg : "is not an allowed value";
		}
	case FT_DATE:
		return fields_date_ok(v->s, v->len) ? NULL
		                                    : "must be a date "
		                                      "YYYY-MM-DD";
	case FT_IP:
		return fields_ip_ok(v->s) ? NULL
		                          : "must be an IPv4 or IPv6 address";
	case FT_SLUG:
		return slug_ok(v->s, v->len)
		           ? NULL
		           : "must be 3 to 40 lower-case letters, digits "
		             "or '-', starting with a letter or digit";
	default:
		return "has an unsupported type";
	}
}

int
fields_validate(struct req *r, const struct field *fields, const cJSON *obj,
                int partial)
{
	size_t n = fields_count(fields);
	int bad = 0;

	r->vals = arena_zalloc(r->a, (n ? n : 1) * sizeof(*r->vals));
	if (!r->vals)
		return -1;
	for (const cJSON *item = obj ? obj->child : NULL; item;
	     item = item->next) {
		int i = fields_index(fields, item->string);
		const char *err;
		struct fval *v;

		if (i < 0) {
			req_detail(r, item->string, "is not a known field");
			bad = 1;
			continue;
		}
		v = &r->vals[i];
		v->present = 1;
		if (cJSON_IsNull(item)) {
			v->is_null = 1;
			if (!(fields[i].flags & F_NULLABLE)) {
				req_detail(r, item->string, "must not be null");
				bad = 1;
			}
			continue;
		}
		err = check_value(r, &fields[i], item, v);
		if (err) {
			req_detail(r, item->string, err);
			bad = 1;
		}
	}
	if (!partial) {
		for (size_t i = 0; i < n; i++) {
			if ((fields[i].flags & F_REQUIRED) &&
			    !r->vals[i].present) {
				req_detail(r, fields[i].name, "is required");
				bad = 1;
			}
		}
	}
	if (bad)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	return 0;
}
