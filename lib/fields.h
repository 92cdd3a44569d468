/*
 * Field tables: the declarative description of a resource's request body
 * (after kcgi/openradtool).  Each resource file starts with one:
 *
 *	static const struct field plan_fields[] = {
 *		{ "name",  FT_STRING, 1, 100, F_REQUIRED | F_TEXT },
 *		{ "price", FT_MONEY,  0, 0,   F_REQUIRED },
 *		{ NULL }
 *	};
 *
 * The dispatcher validates the body against the route's table before the
 * handler runs.  Unknown fields and every failing field come back as one
 * 422 with a details entry per field.  The handler reads r->vals[i],
 * where i is the field's index in the table.
 */
#ifndef RTRW_FIELDS_H
#define RTRW_FIELDS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct req;

/* clang-format off */
enum ftype {
	FT_STRING,   /* length in characters within [min, max] */
	FT_INT,      /* integer within [min, max] */
	FT_BOOL,
	FT_MONEY,    /* positive decimal, <= 12 integer digits, <= 2 decimals */
	FT_EMAIL,
	FT_PHONE,    /* digits with an optional leading +, 8..15 digits */
	FT_ENUM,     /* one of choices */
	FT_DATE,     /* YYYY-MM-DD, a real calendar date */
	FT_IP,       /* IPv4 or IPv6 literal (inet_pton) */
	FT_PASSWORD, /* string, never echoed; min/max are lengths */
	FT_SLUG,     /* ^[a-z0-9][a-z0-9-]{2,39}$ */
	FT_ID,       /* a positive integer id of another object */
	FT_ID_MAP,   /* object of at most max "key": id pairs; keys 1..64 bytes */
	FT_EMAILS,   /* array of [min, max] distinct email addresses */
	FT__MAX
};
/* clang-format on */

#define F_REQUIRED   0x01 /* must be present on create */
#define F_NULLABLE   0x02 /* may be null (clears the value) */
#define F_WRITE_ONLY 0x04 /* never returned (passwords, secrets) */
#define F_TEXT       0x08 /* plain text: markup is refused */
#define F_MONEY_ZERO 0x10 /* FT_MONEY: zero is allowed */

struct field {
	const char *name;
	enum ftype type;
	int64_t min, max;
	unsigned flags;
	const char *const *choices; /* FT_ENUM: NULL-terminated */
};

/* A validated value. */
struct fval {
	int present;
	int is_null;
	const char *s; /* strings, money literal, enum, date, ip */
	size_t len;
	int64_t i;         /* ints, ids, bools; the count of FT_EMAILS */
	const cJSON *json; /* FT_EMAILS: the array (of the body) */
};

/* The string value of v, or NULL when absent or null (for COALESCE). */
static inline const char *
fval_str(const struct fval *v)
{
	return v->present && !v->is_null ? v->s : NULL;
}

/*
 * Validates obj against fields.  partial (PATCH) makes F_REQUIRED fields
 * optional.  Fills r->vals (allocated in the arena, one per field) and
 * returns 0, or adds details and returns -1 after req_fail(422).
 */
int fields_validate(struct req *r, const struct field *fields, const cJSON *obj,
                    int partial);

/* Number of fields in a NULL-terminated table. */
size_t fields_count(const struct field *fields);

/* Index of name in fields, or -1. */
int fields_index(const struct field *fields, const char *name);

/* The JSON type name the field expects, for error messages. */
const char *fields_type_name(enum ftype t);

#endif
