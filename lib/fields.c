#include "fields.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "http.h"
#include "valid.h"
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
	case FT_ID_MAP:
		return "an object";
	case FT_EMAILS:
		return "an array";
	default:
		return "a string";
	}
}

/*
 * An array of distinct email addresses (a report schedule's recipients):
 * the count within [min, max], each a valid address, no address twice
 * (compared without case, as mail systems do for the domain and most do
 * for the local part).
 */
static const char *
check_emails(struct req *r, const struct field *f, const cJSON *item,
             struct fval *v)
{
	const cJSON *e, *o;
	int64_t n = 0;

	if (!cJSON_IsArray(item))
		return "must be an array of email addresses";
	cJSON_ArrayForEach(e, item)
	{
		if (!cJSON_IsString(e) ||
		    !valid_email(e->valuestring, strlen(e->valuestring)))
			return "must hold only valid email addresses";
		for (o = item->child; o != e; o = o->next)
			if (strcasecmp(o->valuestring, e->valuestring) == 0)
				return arena_printf(r->a, "has %s twice",
				                    e->valuestring);
		n++;
	}
	if (n < f->min || n > f->max)
		return arena_printf(r->a,
		                    "must hold %lld to %lld email addresses",
		                    (long long)f->min, (long long)f->max);
	v->i = n;
	v->json = item;
	return NULL;
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
	case FT_EMAILS:
		return check_emails(r, f, item, v);
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
		if (!valid_money(v->s, v->len, f->flags & F_MONEY_ZERO))
			return f->flags & F_MONEY_ZERO
			           ? "must be zero or a positive amount "
			             "with at most 2 decimals"
			           : "must be a positive amount with at "
			             "most 2 decimals";
		return NULL;
	case FT_ID_MAP: {
		int64_t n = 0, id;

		if (!cJSON_IsObject(item))
			return "must be an object";
		for (const cJSON *e = item->child; e; e = e->next) {
			size_t kl = strlen(e->string);

			if (++n > f->max)
				return arena_printf(r->a,
				                    "must have at most %lld "
				                    "entries",
				                    (long long)f->max);
			if (kl == 0 || kl > 64)
				return "keys must be 1 to 64 bytes";
			if (!cJSON_IsNumber(e) ||
			    json_get_int64(e, 1, INT64_MAX, &id) < 0)
				return "values must be positive integer ids";
		}
		v->i = n;
		return NULL;
	}
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
		if ((f->flags & F_TEXT) && valid_markup(v->s, v->len))
			return "must not contain HTML or script markup";
		return NULL;
	}
	case FT_EMAIL:
		return valid_email(v->s, v->len) ? NULL
		                                 : "must be a valid email "
		                                   "address";
	case FT_PHONE:
		return valid_phone(v->s, v->len)
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
		return valid_date(v->s, v->len) ? NULL
		                                : "must be a date "
		                                  "YYYY-MM-DD";
	case FT_IP:
		return valid_ip(v->s) ? NULL
		                      : "must be an IPv4 or IPv6 address";
	case FT_SLUG:
		return valid_slug(v->s, v->len)
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
