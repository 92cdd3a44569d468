/*
 * JSON helpers on top of cJSON.
 *
 * json_parse() is the one way request bodies are parsed.  On top of
 * cJSON's parser it refuses what cJSON lets through but the API must not:
 * invalid UTF-8, NUL bytes (raw or as \u0000), duplicate keys, bodies
 * nested or populated beyond the bounds below, and it keeps the exact text
 * of every number in the node's valuestring, so that money is handled as a
 * decimal string and never passes through a double.
 *
 * Every check costs time linear in the body (the duplicate-key check sorts
 * each object's keys), so the most expensive body that fits under the
 * 1 MiB cap is parsed or refused in milliseconds (tests/unit/test_json.c
 * measures it).
 */
#ifndef RTRW_JSON_H
#define RTRW_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct buf;

enum json_err {
	JSON_OK = 0,
	JSON_ERR_UTF8,      /* invalid UTF-8 or a NUL byte */
	JSON_ERR_SYNTAX,    /* not JSON */
	JSON_ERR_DUPLICATE, /* an object repeats a key */
	JSON_ERR_DEPTH,     /* nested too deeply */
	JSON_ERR_NOMEM,     /* arena cap reached */
	JSON_ERR_MEMBERS,   /* an object has more than JSON_MAX_MEMBERS */
	JSON_ERR_ELEMENTS,  /* an array has more than JSON_MAX_ELEMENTS */
	JSON_ERR_VALUES,    /* the body has more than JSON_MAX_VALUES */
	JSON_ERR_NUMBER, /* a number literal is longer than JSON_MAX_NUMBER */
};

/*
 * What one request body may hold.  The largest body of a route today is a
 * field table of 13 members (service plans) with no nested values; the
 * largest one planned is the import mapping of POST /routers/{id}/import,
 * one member per PPP profile of a router, a few hundred at most.  1000
 * members per object and elements per array leave room for that several
 * times over, and 10000 values per body for ten such maps; a body beyond
 * them is refused (400) before cJSON allocates a node, which also keeps
 * cJSON's heap use (outside the arena cap) near the body's size.  No
 * number the API takes is longer than 20 characters (an int64, a money
 * amount); 32 leave room for any double in its shortest exact form (24)
 * and keep strtod(), which gets slow on long mantissas, cheap.  Raise
 * them here, with a test, when a route needs more.
 */
#define JSON_MAX_DEPTH    32
#define JSON_MAX_MEMBERS  1000
#define JSON_MAX_ELEMENTS 1000
#define JSON_MAX_VALUES   10000
#define JSON_MAX_NUMBER   32

/*
 * Parses n bytes of text.  On success stores the tree in *out (owned by
 * the arena: released at reset, every key and string wiped first, since
 * bodies carry passwords) and returns JSON_OK.  Number nodes carry their
 * literal text in valuestring.
 */
enum json_err json_parse(struct arena *a, const char *text, size_t n,
                         cJSON **out);

/* A sentence describing err, for the 400 message. */
const char *json_err_str(enum json_err err);

/* Returns the literal text of a number node (never NULL for numbers). */
const char *json_number_text(const cJSON *item);

/*
 * Number to int64 without going through a double: the literal must be an
 * integer within [min, max].  0 or -1.
 */
int json_get_int64(const cJSON *item, int64_t min, int64_t max, int64_t *out);

/*
 * Serialises item compactly onto b.  Returns 0 or -1 (out of memory or
 * buffer cap).
 */
int json_print(struct buf *b, const cJSON *item);

/*
 * Appends the n bytes of s to b as a JSON string literal: quotes,
 * backslashes and control characters escaped, everything else as is
 * (s must be valid UTF-8).
 */
void json_write_string(struct buf *b, const char *s, size_t n);

/* Registers cJSON_Delete(item) at the arena's reset; returns item. */
cJSON *json_own(struct arena *a, cJSON *item);

/*
 * Adds a member holding a decimal literal (e.g. "1500.00") as a JSON
 * number without converting it.  The literal must already be validated.
 */
cJSON *json_add_decimal(cJSON *obj, const char *name, const char *literal);

/* Adds s, or null when s is NULL. */
cJSON *json_add_str_or_null(cJSON *obj, const char *name, const char *s);

/* Adds an int64 exactly (cJSON numbers are doubles; this uses a raw). */
cJSON *json_add_int(cJSON *obj, const char *name, int64_t v);

#endif
