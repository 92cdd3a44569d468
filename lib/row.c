#include "row.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "util.h"

int
row_col_index(const struct rowtype *type, const char *name)
{
	for (int i = 0; type->cols[i].name; i++)
		if (strcmp(type->cols[i].name, name) == 0)
			return i;
	return -1;
}

size_t
row_ncols(const struct rowtype *type)
{
	size_t n = 0;

	while (type->cols[n].name)
		n++;
	return n;
}

void
row_time_rfc3339(const char *in, char *out, size_t n)
{
	/* "YYYY-MM-DD HH:MM:SS" is 19 bytes; fractions are dropped. */
	if (strlen(in) < 19) {
		snprintf(out, n, "%s", in);
		return;
	}
	snprintf(out, n, "%.10sT%.8sZ", in, in + 11);
}

const char *
row_type_json_name(enum col_type t)
{
	switch (t) {
	case COLT_INT:
		return "integer";
	case COLT_BOOL:
		return "boolean";
	case COLT_DEC:
		return "number";
	case COLT_JSON:
		return "json";
	case COLT_BYTES:
		return "bytes";
	default:
		return "string";
	}
}

/* Whether column c of row holds SQL NULL. */
static int
is_null(const struct col *c, const void *row)
{
	const void *m = row_member(row, c);

	switch (c->type) {
	case COLT_INT:
		return (c->flags & COL_F_NULL) && *(const int64_t *)m == 0;
	case COLT_BOOL:
		return (c->flags & COL_F_NULL) && *(const int *)m < 0;
	case COLT_BYTES:
		return ((const struct bytes *)m)->p == NULL;
	default:
		return *(const char *const *)m == NULL;
	}
}

void
row_write_json(struct buf *b, const struct rowtype *type, const void *row)
{
	int first = 1;

	buf_addch(b, '{');
	for (const struct col *c = type->cols; c->name; c++) {
		const void *m = row_member(row, c);
		char when[40];

		if ((c->flags & COL_F_HIDDEN) || c->type == COLT_BYTES)
			continue;
		if (!first)
			buf_addch(b, ',');
		first = 0;
		json_write_string(b, c->name, strlen(c->name));
		buf_addch(b, ':');
		if (is_null(c, row)) {
			buf_adds(b, "null");
			continue;
		}
		switch (c->type) {
		case COLT_INT:
			buf_addf(b, "%" PRId64, *(const int64_t *)m);
			break;
		case COLT_BOOL:
			buf_adds(b, *(const int *)m ? "true" : "false");
			break;
		case COLT_DEC:
		case COLT_JSON:
			buf_adds(b, *(const char *const *)m);
			break;
		case COLT_TIME:
			row_time_rfc3339(*(const char *const *)m, when,
			                 sizeof(when));
			json_write_string(b, when, strlen(when));
			break;
		default: {
			const char *s = *(const char *const *)m;

			json_write_string(b, s, strlen(s));
		}
		}
	}
	buf_addch(b, '}');
}

cJSON *
row_json(const struct rowtype *type, const void *row)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj)
		return NULL;
	for (const struct col *c = type->cols; c->name; c++) {
		const void *m = row_member(row, c);
		const char *s = NULL;
		char when[40], num[24];
		cJSON *v;

		if ((c->flags & COL_F_HIDDEN) || c->type == COLT_BYTES)
			continue;
		if (c->type != COLT_INT && c->type != COLT_BOOL)
			s = *(const char *const *)m;
		if (is_null(c, row)) {
			v = cJSON_AddNullToObject(obj, c->name);
		} else if (c->type == COLT_INT) {
			/* Raw keeps integers exact past 2^53. */
			snprintf(num, sizeof(num), "%" PRId64,
			         *(const int64_t *)m);
			v = cJSON_AddRawToObject(obj, c->name, num);
		} else if (c->type == COLT_BOOL) {
			v = cJSON_AddBoolToObject(obj, c->name,
			                          *(const int *)m != 0);
		} else if (c->type == COLT_DEC || c->type == COLT_JSON) {
			v = cJSON_AddRawToObject(obj, c->name, s);
		} else if (c->type == COLT_TIME) {
			row_time_rfc3339(s, when, sizeof(when));
			v = cJSON_AddStringToObject(obj, c->name, when);
		} else {
			v = cJSON_AddStringToObject(obj, c->name, s);
		}
		if (!v) {
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
}

void
rows_write_json(struct buf *b, const struct rows *rs)
{
	buf_addch(b, '[');
	for (size_t i = 0; i < rs->n; i++) {
		if (i)
			buf_addch(b, ',');
		row_write_json(b, rs->type, rows_at(rs, i));
	}
	buf_addch(b, ']');
}

void *
row_dup_heap(const struct rowtype *type, const void *row)
{
	size_t size = type->size;
	char *copy, *p;

	for (const struct col *c = type->cols; c->name; c++) {
		const void *m = row_member(row, c);

		if (c->type == COLT_BYTES)
			size += ((const struct bytes *)m)->n;
		else if (c->type != COLT_INT && c->type != COLT_BOOL &&
		         *(const char *const *)m)
			size += strlen(*(const char *const *)m) + 1;
	}
	copy = xmalloc(size);
	memcpy(copy, row, type->size);
	p = copy + type->size;
	for (const struct col *c = type->cols; c->name; c++) {
		void *m = row_member(copy, c);

		if (c->type == COLT_BYTES) {
			struct bytes *bv = m;

			if (bv->p) {
				memcpy(p, bv->p, bv->n);
				bv->p = (const unsigned char *)p;
				p += bv->n;
			}
		} else if (c->type != COLT_INT && c->type != COLT_BOOL &&
		           *(const char **)m) {
			size_t n = strlen(*(const char **)m) + 1;

			memcpy(p, *(const char **)m, n);
			*(const char **)m = p;
			p += n;
		}
	}
	return copy;
}
