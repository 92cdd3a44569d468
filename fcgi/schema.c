#include "schema.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "json.h"
#include "reply.h"
#include "row.h"
#include "store/list.h"

/*
 * Limits that the validators hold as code rather than as table entries,
 * repeated here next to the schema they document.  test_openapi checks
 * per_page, the email length and the money maximum against the running
 * server; the patterns are the validators' rules written as regular
 * expressions (their unit tests are in tests/unit/test_fields.c).
 */
#define PAGE_DEFAULT  20                /* req_page() in lib/http.c */
#define PER_PAGE_MAX  100               /* req_page() */
#define EMAIL_MAX     254               /* valid_email() */
#define MONEY_MAX     "999999999999.99" /* valid_money(): 12 + 2 digits */
#define MONEY_STEP    "0.01"
#define PHONE_PATTERN "^\\+?[0-9]{8,15}$"         /* valid_phone() */
#define SLUG_PATTERN  "^[a-z0-9][a-z0-9-]{2,39}$" /* valid_slug() */

/* cJSON reports allocation failure as NULL; like malloc, it aborts. */
static cJSON *
must(cJSON *item)
{
	if (!item) {
		fputs("rtrw-api: out of memory\n", stderr);
		abort();
	}
	return item;
}

static void
add_str(cJSON *o, const char *name, const char *s)
{
	must(cJSON_AddStringToObject(o, name, s));
}

static void
add_bool(cJSON *o, const char *name, int b)
{
	must(cJSON_AddBoolToObject(o, name, b));
}

static void
add_int(cJSON *o, const char *name, int64_t v)
{
	must(json_add_int(o, name, v));
}

static cJSON *
add_obj(cJSON *o, const char *name)
{
	return must(cJSON_AddObjectToObject(o, name));
}

static cJSON *
add_arr(cJSON *o, const char *name)
{
	return must(cJSON_AddArrayToObject(o, name));
}

static void
push_str(cJSON *arr, const char *s)
{
	if (!cJSON_AddItemToArray(arr, must(cJSON_CreateString(s))))
		abort();
}

static cJSON *
push_obj(cJSON *arr)
{
	cJSON *o = must(cJSON_CreateObject());

	if (!cJSON_AddItemToArray(arr, o))
		abort();
	return o;
}

/* "type": t, or "type": [t, "null"] for a nullable value. */
static void
add_type(cJSON *schema, const char *t, int nullable)
{
	cJSON *arr;

	if (!nullable) {
		add_str(schema, "type", t);
		return;
	}
	arr = add_arr(schema, "type");
	push_str(arr, t);
	push_str(arr, "null");
}

static void
add_choices(cJSON *o, const char *name, const char *const *choices)
{
	cJSON *arr = add_arr(o, name);

	for (const char *const *c = choices; c && *c; c++)
		push_str(arr, *c);
}

static const char *const ftype_names[FT__MAX] = {
    [FT_STRING] = "string",     [FT_INT] = "int",       [FT_BOOL] = "bool",
    [FT_MONEY] = "money",       [FT_EMAIL] = "email",   [FT_PHONE] = "phone",
    [FT_ENUM] = "enum",         [FT_DATE] = "date",     [FT_IP] = "ip",
    [FT_PASSWORD] = "password", [FT_SLUG] = "slug",     [FT_ID] = "id",
    [FT_ID_MAP] = "id_map",     [FT_EMAILS] = "emails",
};

/*
 * The JSON Schema that a field's validation amounts to (lib/fields.c
 * check_value()).  Only what the validator enforces goes in, so the
 * docs may say no less and no more.
 */
static void
field_schema(cJSON *s, const struct field *f)
{
	int nullable = (f->flags & F_NULLABLE) != 0;

	switch (f->type) {
	case FT_STRING:
	case FT_PASSWORD:
		add_type(s, "string", nullable);
		if (f->min > 0)
			add_int(s, "minLength", f->min);
		if (f->max > 0)
			add_int(s, "maxLength", f->max);
		break;
	case FT_INT:
		add_type(s, "integer", nullable);
		add_int(s, "minimum", f->min);
		add_int(s, "maximum", f->max);
		break;
	case FT_ID:
		add_type(s, "integer", nullable);
		add_int(s, "minimum", 1);
		break;
	case FT_BOOL:
		add_type(s, "boolean", nullable);
		break;
	case FT_MONEY:
		add_type(s, "number", nullable);
		must(json_add_decimal(s, "multipleOf", MONEY_STEP));
		add_int(s,
		        (f->flags & F_MONEY_ZERO) ? "minimum"
		                                  : "exclusiveMinimum",
		        0);
		must(json_add_decimal(s, "maximum", MONEY_MAX));
		break;
	case FT_EMAIL:
		add_type(s, "string", nullable);
		add_str(s, "format", "email");
		add_int(s, "maxLength", EMAIL_MAX);
		break;
	case FT_PHONE:
		add_type(s, "string", nullable);
		add_str(s, "pattern", PHONE_PATTERN);
		break;
	case FT_ENUM:
		add_type(s, "string", nullable);
		add_choices(s, "enum", f->choices);
		break;
	case FT_DATE:
		add_type(s, "string", nullable);
		add_str(s, "format", "date");
		break;
	case FT_SLUG:
		add_type(s, "string", nullable);
		add_str(s, "pattern", SLUG_PATTERN);
		break;
	case FT_ID_MAP: {
		cJSON *ids;

		/* An object of "key": id pairs (lib/fields.c). */
		add_type(s, "object", nullable);
		add_int(s, "maxProperties", f->max);
		ids = add_obj(s, "additionalProperties");
		add_str(ids, "type", "integer");
		add_int(ids, "minimum", 1);
		break;
	}
	case FT_EMAILS: {
		cJSON *items = cJSON_AddObjectToObject(s, "items");

		must(items);
		add_type(s, "array", nullable);
		add_int(s, "minItems", f->min);
		add_int(s, "maxItems", f->max);
		add_type(items, "string", 0);
		add_str(items, "format", "email");
		add_int(items, "maxLength", EMAIL_MAX);
		break;
	}
	case FT_IP:
	default:
		/* An IPv4 or IPv6 literal: JSON Schema has no one format. */
		add_type(s, "string", nullable);
		break;
	}
	if (f->flags & F_WRITE_ONLY)
		add_bool(s, "writeOnly", 1);
}

static void
add_fields(cJSON *request, const struct route *rt)
{
	int partial = (rt->flags & R_PARTIAL) != 0;
	cJSON *arr = add_arr(request, "fields");

	for (const struct field *f = rt->fields; f && f->name; f++) {
		cJSON *o = push_obj(arr);

		add_str(o, "name", f->name);
		add_str(o, "type",
		        f->type < FT__MAX && ftype_names[f->type]
		            ? ftype_names[f->type]
		            : "unknown");
		add_bool(o, "required", !partial && (f->flags & F_REQUIRED));
		add_bool(o, "nullable", (f->flags & F_NULLABLE) != 0);
		add_bool(o, "write_only", (f->flags & F_WRITE_ONLY) != 0);
		add_bool(o, "text", (f->flags & F_TEXT) != 0);
		add_int(o, "min", f->min);
		add_int(o, "max", f->max);
		if (f->type == FT_ENUM)
			add_choices(o, "enum", f->choices);
		field_schema(add_obj(o, "schema"), f);
	}
}

static const char *const filter_names[] = {
    [FILTER_ID] = "id",         [FILTER_ENUM] = "enum", [FILTER_INDEX] = "enum",
    [FILTER_BOOL] = "bool",     [FILTER_DATE] = "date", [FILTER_TEXT] = "text",
    [FILTER_SEARCH] = "search",
};

/* What fcgi/reply.c read_filter() accepts for one filter. */
static void
filter_schema(cJSON *s, const struct filter_def *f)
{
	switch (f->type) {
	case FILTER_ID:
		add_str(s, "type", "integer");
		add_int(s, "minimum", 1);
		break;
	case FILTER_ENUM:
	case FILTER_INDEX:
		add_str(s, "type", "string");
		add_choices(s, "enum", f->choices);
		break;
	case FILTER_BOOL:
		add_str(s, "type", "boolean");
		break;
	case FILTER_DATE:
		add_str(s, "type", "string");
		add_str(s, "format", "date");
		break;
	case FILTER_TEXT:
	case FILTER_SEARCH:
		add_str(s, "type", "string");
		add_int(s, "maxLength", f->max);
		break;
	}
}

static cJSON *
push_param(cJSON *arr, const char *name, const char *kind)
{
	cJSON *o = push_obj(arr);

	add_str(o, "name", name);
	add_str(o, "kind", kind);
	return o;
}

/* page and per_page (req_page()), then sort and the filters of spec. */
static void
add_query(cJSON *arr, const struct list_spec *spec)
{
	cJSON *s;
	const char *key;

	if (spec && !spec->store)
		goto filters; /* query parameters only: no page, no sort */
	s = add_obj(push_param(arr, "page", "page"), "schema");
	add_str(s, "type", "integer");
	add_int(s, "minimum", 1);
	add_int(s, "default", 1);
	s = add_obj(push_param(arr, "per_page", "per_page"), "schema");
	add_str(s, "type", "integer");
	add_int(s, "minimum", 1);
	add_int(s, "maximum", PER_PAGE_MAX);
	add_int(s, "default", PAGE_DEFAULT);
	if (!spec)
		return;
	if (store_list_sort_key(spec->store, 0)) {
		cJSON *keys;

		s = add_obj(push_param(arr, "sort", "sort"), "schema");
		add_str(s, "type", "string");
		keys = add_arr(s, "enum");
		for (size_t i = 0; (key = store_list_sort_key(spec->store, i));
		     i++)
			push_str(keys, key);
		/* Sort 0 is what read_sort() uses without ?sort=. */
		add_str(s, "default", store_list_sort_key(spec->store, 0));
	}
filters:
	for (const struct filter_def *f = spec->filters; f && f->name; f++) {
		cJSON *o = push_param(arr, f->name, filter_names[f->type]);

		add_str(o, "doc", f->doc ? f->doc : "");
		add_bool(o, "required", f->required != 0);
		if (f->choices)
			add_choices(o, "enum", f->choices);
		if (f->max)
			add_int(o, "max", f->max);
		filter_schema(add_obj(o, "schema"), f);
	}
}

/* The visible columns of type as row_write_json() writes them. */
static void
add_columns(cJSON *response, const struct rowtype *type)
{
	cJSON *arr = add_arr(response, "columns");

	add_str(response, "row", type->name);
	for (const struct col *c = type->cols; c->name; c++) {
		cJSON *o;

		if ((c->flags & COL_F_HIDDEN) || c->type == COLT_BYTES)
			continue;
		o = push_obj(arr);
		add_str(o, "name", c->name);
		add_str(o, "type", row_type_json_name(c->type));
		if (c->type == COLT_TIME)
			add_str(o, "format", "date-time");
		else if (c->type == COLT_DATE)
			add_str(o, "format", "date");
		add_bool(o, "nullable", (c->flags & COL_F_NULL) != 0);
	}
}

/* Says what rt answers; -1 when its row in the table does not. */
static int
add_response(cJSON *o, const struct route *rt, const char *path)
{
	const char *method = http_method_name(rt->method);
	const struct rowtype *row = rt->row;
	cJSON *resp = add_obj(o, "response");
	unsigned kinds = 0;

	kinds += rt->list != NULL && rt->list->store;
	kinds += (rt->flags & R_LIST) != 0;
	kinds += (rt->flags & R_EMPTY) != 0;
	kinds += (rt->flags & R_HAND) != 0;
	kinds += (rt->flags & R_FILE) != 0;
	if (kinds > 1 || (kinds == 0 && !row) ||
	    ((rt->flags & R_LIST) && !row) || ((rt->flags & R_EMPTY) && row) ||
	    ((rt->flags & R_FILE) && row) ||
	    (rt->list && !rt->list->store &&
	     !(rt->flags & (R_FILE | R_HAND))) ||
	    (rt->list && rt->list->store && row &&
	     row != rt->list->store->row)) {
		fprintf(stderr,
		        "rtrw-api: route %s %s must say what it answers "
		        "with one of: a row type, a list spec, R_LIST with a "
		        "row, R_EMPTY, R_HAND, R_FILE (lib/router.h)\n",
		        method, path);
		return -1;
	}
	if (rt->list && rt->list->store)
		row = rt->list->store->row;
	if (rt->flags & R_FILE)
		add_str(resp, "kind", "file");
	else if ((rt->list && rt->list->store) || (rt->flags & R_LIST))
		add_str(resp, "kind", "list");
	else if (rt->flags & R_EMPTY)
		add_str(resp, "kind", "empty");
	else if (rt->flags & R_HAND)
		add_str(resp, "kind", "hand");
	else
		add_str(resp, "kind", "object");
	if (row)
		add_columns(resp, row);
	return 0;
}

static const struct {
	unsigned bit;
	const char *name;
} flag_names[] = {
    {R_BODY, "body"},
    {R_PARTIAL, "partial"},
    {R_NO_RATELIMIT, "no_ratelimit"},
    {R_PLATFORM_TOO, "platform_too"},
    {R_LIST, "list"},
    {R_EMPTY, "empty"},
    {R_HAND, "hand"},
    {R_FILE, "file"},
};

/*
 * The names of the pattern's "{name}" segments: path parameters that are
 * words (lib/router.h), not ids.
 */
static void
add_words(cJSON *arr, const char *pattern)
{
	char name[ROUTER_WORD_MAX + 1];

	for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = strcspn(p + 1, "}");

		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		push_str(arr, name);
	}
}

static int
add_routes(cJSON *arr, const struct route *table, const char *prefix)
{
	char path[512];

	for (const struct route *rt = table; rt->pattern; rt++) {
		cJSON *o = push_obj(arr), *flags, *req, *query;

		router_openapi_path(prefix, rt->pattern, path, sizeof(path));
		add_str(o, "method", http_method_name(rt->method));
		add_str(o, "path", path);
		add_str(o, "role", role_name(rt->role));
		flags = add_arr(o, "flags");
		for (size_t i = 0; i < sizeof(flag_names) / sizeof(*flag_names);
		     i++)
			if (rt->flags & flag_names[i].bit)
				push_str(flags, flag_names[i].name);
		add_str(o, "summary", rt->summary ? rt->summary : "");
		if (rt->flags & R_BODY) {
			/* lib/dispatch.c read_body(): when a body must come. */
			req = add_obj(o, "request");
			add_bool(req, "required",
			         rt->fields && !(rt->flags & R_PARTIAL) &&
			             rt->method != HTTP_DELETE);
			add_fields(req, rt);
		} else {
			must(cJSON_AddNullToObject(o, "request"));
		}
		add_words(add_arr(o, "words"), rt->pattern);
		query = add_arr(o, "query");
		if (rt->list || (rt->flags & R_LIST))
			add_query(query, rt->list);
		if (add_response(o, rt, path) < 0)
			return -1;
	}
	return 0;
}

int
schema_print(FILE *out, const struct route *root, const struct route *api,
             const char *prefix)
{
	cJSON *doc = must(cJSON_CreateObject()), *arr;
	char *text;
	int rc = -1;

	add_str(doc, "prefix", prefix);
	arr = add_arr(doc, "routes");
	if (add_routes(arr, root, "") < 0 || add_routes(arr, api, prefix) < 0)
		goto out_free;
	text = cJSON_Print(doc);
	if (!text) {
		fputs("rtrw-api: out of memory\n", stderr);
		abort();
	}
	rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
	cJSON_free(text);
out_free:
	cJSON_Delete(doc);
	return rc;
}
