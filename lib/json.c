#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "util.h"

/* The bounds as text, for the messages below. */
#define STR_(x) #x
#define STR(x)  STR_(x)

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
	case JSON_ERR_MEMBERS:
		return "body has an object with more than " STR(
		    JSON_MAX_MEMBERS) " members";
	case JSON_ERR_ELEMENTS:
		return "body has an array with more than " STR(
		    JSON_MAX_ELEMENTS) " elements";
	case JSON_ERR_VALUES:
		return "body holds more than " STR(JSON_MAX_VALUES) " values";
	case JSON_ERR_NUMBER:
		return "body has a number longer than " STR(
		    JSON_MAX_NUMBER) " characters";
	}
	return "body is not valid JSON";
}

struct numspan {
	const char *p;
	size_t len;
};

static int
number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
	       c == '+' || c == '-';
}

/* One open object or array while scanning. */
struct level {
	size_t items; /* members or elements seen so far */
	int array;
	int empty; /* nothing but whitespace since the bracket */
};

/*
 * Scans the text the way a JSON lexer would before cJSON builds anything:
 * it refuses \u0000 escapes, nesting past JSON_MAX_DEPTH, containers or
 * documents with more items and numbers longer than the bounds in json.h
 * allow, and records every number literal in document order.  It trusts cJSON
 * for the rest of the grammar: it only has to tell strings from the rest and
 * count the commas at each level.  One pass, so linear in n.
 */
static enum json_err
scan_body(struct arena *a, const char *s, size_t n, struct numspan **out,
          size_t *count)
{
	struct level lv[JSON_MAX_DEPTH + 1];
	size_t cap = 16, k = 0, depth = 0, values = 1;
	struct numspan *spans = arena_alloc(a, cap * sizeof(*spans));

	if (!spans)
		return JSON_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		/* The first item of a container follows no comma. */
		if (depth > 0 && lv[depth].empty && c != ']' && c != '}') {
			lv[depth].empty = 0;
			lv[depth].items = 1;
			if (++values > JSON_MAX_VALUES)
				return JSON_ERR_VALUES;
		}
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
			if (depth == JSON_MAX_DEPTH)
				return JSON_ERR_DEPTH;
			depth++;
			lv[depth].items = 0;
			lv[depth].array = c == '[';
			lv[depth].empty = 1;
		} else if (c == ']' || c == '}') {
			if (depth == 0)
				return JSON_ERR_SYNTAX;
			depth--;
		} else if (c == ',') {
			if (depth == 0)
				return JSON_ERR_SYNTAX;
			lv[depth].items++;
			if (lv[depth].array &&
			    lv[depth].items > JSON_MAX_ELEMENTS)
				return JSON_ERR_ELEMENTS;
			if (!lv[depth].array &&
			    lv[depth].items > JSON_MAX_MEMBERS)
				return JSON_ERR_MEMBERS;
			if (++values > JSON_MAX_VALUES)
				return JSON_ERR_VALUES;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;

			while (i + 1 < n && number_char(s[i + 1])) {
				if (++i - start >= JSON_MAX_NUMBER)
					return JSON_ERR_NUMBER;
			}
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

struct keyref {
	const char *s;
	size_t len;
};

/*
 * Orders keys by length, then bytes: all the check needs is that equal
 * keys end up side by side, and memcmp of known lengths is the cheapest
 * comparison (strcmp under ASan walks byte by byte).
 */
static int
key_cmp(const void *x, const void *y)
{
	const struct keyref *a = x, *b = y;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->s, b->s, a->len);
}

/*
 * Whether two members of obj share a key.  Comparing every pair was
 * quadratic: a flat body of 110,000 keys pinned a worker for half a
 * minute.  Sorting the keys makes equal ones neighbours, in O(n log n)
 * comparisons whatever the keys are (a hash set would need a secret seed
 * to stay linear against chosen keys).  Small objects, which is nearly
 * every body, keep the pairwise loop and allocate nothing.
 */
static enum json_err
check_duplicates(struct arena *a, const cJSON *obj)
{
	struct keyref *keys;
	size_t n = 0, k = 0;

	for (const cJSON *x = obj->child; x; x = x->next)
		n++;
	if (n <= 8) {
		for (const cJSON *x = obj->child; x; x = x->next)
			for (const cJSON *y = x->next; y; y = y->next)
				if (strcmp(x->string, y->string) == 0)
					return JSON_ERR_DUPLICATE;
		return JSON_OK;
	}
	keys = arena_alloc(a, n * sizeof(*keys));
	if (!keys)
		return JSON_ERR_NOMEM;
	for (const cJSON *x = obj->child; x; x = x->next) {
		keys[k].s = x->string;
		keys[k].len = strlen(x->string);
		k++;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&keys[i - 1], &keys[i]) == 0)
			return JSON_ERR_DUPLICATE;
	return JSON_OK;
}

/*
 * Walks the tree in document order, giving each number node its literal
 * and checking objects for repeated keys.
 */
static enum json_err
attach(struct arena *a, cJSON *node, const struct numspan *spans, size_t count,
       size_t *next)
{
	for (; node; node = node->next) {
		enum json_err err;

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
			err = check_duplicates(a, node);
			if (err)
				return err;
		}
		if (node->child) {
			err = attach(a, node->child, spans, count, next);
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

/* Wipes the keys and strings of a tree (cJSON_Delete frees them as is). */
static void
json_wipe(cJSON *node)
{
	for (; node; node = node->next) {
		if (node->string)
			explicit_bzero(node->string, strlen(node->string));
		if (node->valuestring)
			explicit_bzero(node->valuestring,
			               strlen(node->valuestring));
		json_wipe(node->child);
	}
}

/*
 * A parsed body holds what the client sent, passwords included, in
 * cJSON's heap strings: they are wiped before the tree goes back to
 * malloc.
 */
static void
json_wipe_delete(void *p)
{
	json_wipe(p);
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
	err = scan_body(a, text, n, &spans, &count);
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
	if (arena_defer(a, json_wipe_delete, root) < 0)
		return JSON_ERR_NOMEM;
	err = attach(a, root, spans, count, &used);
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
