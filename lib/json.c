#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "util.h"

const char *
json_err_str(enum json_err err)
{
	switch (err) {
	case JSON_OK:
		return "ok";
	case JSON_ERR_UTF8:
		return "body is not valid UTF-8 or contains a NUL character";
	case JSON_ERR_SYNTAX:
		return "body is not valid JSON";
	case JSON_ERR_DUPLICATE:
		return "body repeats a key in one object";
	case JSON_ERR_DEPTH:
		return "body is nested too deeply";
	case JSON_ERR_NOMEM:
		return "body is too large to process";
	}
	return "body is not valid JSON";
}

struct numspan {
	const char *p;
	size_t len;
};

/*
 * Scans the text the way a JSON lexer would, recording every number
 * literal in document order and refusing \u0000 escapes.  It trusts cJSON
 * for the grammar: it only has to tell strings from the rest.
 */
static enum json_err
scan_numbers(struct arena *a, const char *s, size_t n, struct numspan **out,
             size_t *count)
{
	size_t cap = 16, k = 0, depth = 0, maxdepth = 0;
	struct numspan *spans = arena_alloc(a, cap * sizeof(*spans));

	if (!spans)
		return JSON_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] != '\\')
					continue;
				i++;
				if (i + 4 < n && s[i] == 'u' &&
				    memcmp(s + i + 1, "0000", 4) == 0)
					return JSON_ERR_UTF8;
			}
		} else if (c == '[' || c == '{') {
			if (++depth > maxdepth)
				maxdepth = depth;
			if (depth > JSON_MAX_DEPTH)
				return JSON_ERR_DEPTH;
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;

			while (i + 1 < n && strchr("+-.eE0123456789", s[i + 1]))
				i++;
			if (k == cap) {
				struct numspan *bigger;

				bigger =
				    arena_alloc(a, 2 * cap * sizeof(*spans));
				if (!bigger)
					return JSON_ERR_NOMEM;
				memcpy(bigger, spans, cap * sizeof(*spans));
				spans = bigger;
				cap *= 2;
			}
			spans[k].p = s + start;
			spans[k].len = i - start + 1;
			k++;
		}
	}
	*out = spans;
	*count = k;
	return JSON_OK;
}

/*
 * Walks the tree in document order, giving each number node its literal
 * and checking objects for repeated keys.
 */
static enum json_err
attach(cJSON *node, const struct numspan *spans, size_t count, size_t *next)
{
	for (; node; node = node->next) {
		if (cJSON_IsNumber(node)) {
			char *lit;

			if (*next >= count)
				return JSON_ERR_SYNTAX;
			lit = malloc(spans[*next].len + 1);
			if (!lit)
				abort();
			memcpy(lit, spans[*next].p, spans[*next].len);
			lit[spans[*next].len] = '\0';
			node->valuestring = lit;
			(*next)++;
		}
		if (cJSON_IsObject(node)) {
			for (cJSON *x = node->child; x; x = x->next)
				for (cJSON *y = x->next; y; y = y->next)
					if (strcmp(x->string, y->string) == 0)
						return JSON_ERR_DUPLICATE;
		}
		if (node->child) {
			enum json_err err =
			    attach(node->child, spans, count, next);
			if (err)
				return err;
		}
	}
	return JSON_OK;
}

static void
json_delete(void *p)
{
	cJSON_Delete(p);
}

cJSON *
json_own(struct arena *a, cJSON *item)
{
	if (item && arena_defer(a, json_delete, item) < 0)
		return NULL;
	return item;
}

enum json_err
json_parse(struct arena *a, const char *text, size_t n, cJSON **out)
{
	struct numspan *spans;
	size_t count, used = 0;
	const char *end = NULL;
	enum json_err err;
	cJSON *root;

	*out = NULL;
	if (!utf8_valid(text, n))
		return JSON_ERR_UTF8;
	err = scan_numbers(a, text, n, &spans, &count);
	if (err)
		return err;
	root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
	if (!root)
		return JSON_ERR_SYNTAX;
	/* cJSON stops after the value; anything but whitespace is junk. */
	for (; end < text + n; end++) {
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(root);
			return JSON_ERR_SYNTAX;
		}
	}
	if (!json_own(a, root))
		return JSON_ERR_NOMEM;
	err = attach(root, spans, count, &used);
	if (err)
		return err;
	if (used != count)
		return JSON_ERR_SYNTAX;
	*out = root;
	return JSON_OK;
}

const char *
json_number_text(const cJSON *item)
{
	return item->valuestring ? item->valuestring : "";
}

int
json_get_int64(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
	if (!cJSON_IsNumber(item) || !item->valuestring)
		return -1;
	return parse_int64(item->valuestring, min, max, out);
}

int
json_print(struct buf *b, const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);

	if (!s)
		return -1;
	buf_adds(b, s);
	free(s);
	return b->over ? -1 : 0;
}

cJSON *
json_add_decimal(cJSON *obj, const char *name, const char *literal)
{
	return cJSON_AddRawToObject(obj, name, literal);
}

cJSON *
json_add_str_or_null(cJSON *obj, const char *name, const char *s)
{
	if (!s)
		return cJSON_AddNullToObject(obj, name);
	return cJSON_AddStringToObject(obj, name, s);
}

cJSON *
json_add_int(cJSON *obj, const char *name, int64_t v)
{
	char lit[24];

	snprintf(lit, sizeof(lit), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, name, lit);
}

void
json_write_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;

	buf_addch(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default: {
			char u[7] = {'\\',        'u',          '0', '0',
			             hex[c >> 4], hex[c & 0xf], 0};
			buf_adds(b, u);
		}
		}
	}
	buf_add(b, s + start, n - start);
	buf_addch(b, '"');
}
