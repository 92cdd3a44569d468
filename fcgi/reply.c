#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "buf.h"
#include "events.h"
#include "json.h"
#include "store/list.h"
#include "store/platform_audit.h"
#include "tdb.h"
#include "util.h"
#include "valid.h"

int
req_found(struct req *r, int rc, const char *what)
{
	if (rc == 1)
		return 0;
	if (rc < 0)
		return -1;
	return req_fail(r, 404, "not_found",
	                arena_printf(r->a, "%s not found", what));
}

int
reply_row(struct req *r, int status, const struct rowtype *type,
          const void *row)
{
	buf_reset(r->body_out);
	buf_adds(r->body_out, "{\"data\":");
	row_write_json(r->body_out, type, row);
	buf_addch(r->body_out, '}');
	r->status = status;
	return r->body_out->over ? -1 : 0;
}

int
reply_page(struct req *r, const struct rows *rows, int64_t page,
           int64_t per_page, int64_t total)
{
	int64_t pages = per_page > 0 ? (total + per_page - 1) / per_page : 0;

	buf_reset(r->body_out);
	buf_adds(r->body_out, "{\"data\":");
	rows_write_json(r->body_out, rows);
	buf_addf(r->body_out,
	         ",\"meta\":{\"page\":%" PRId64 ",\"per_page\":%" PRId64
	         ",\"total\":%" PRId64 ",\"total_pages\":%" PRId64 "}}",
	         page, per_page, total, pages);
	r->status = 200;
	return r->body_out->over ? -1 : 0;
}

int
reply_commit(struct req *r, int status, const struct rowtype *type,
             const void *row)
{
	if (tdb_commit(r->tdb) < 0)
		return -1;
	if (!row)
		return req_no_content(r);
	return reply_row(r, status, type, row);
}

int
req_audit(struct req *r, const char *action, const char *entity_type,
          int64_t entity_id, const cJSON *old_values, const cJSON *new_values)
{
	struct audit_entry e = {
	    .user_id = r->who.platform ? 0 : r->who.user_id,
	    .action = action,
	    .entity_type = entity_type,
	    .entity_id = entity_id,
	    .old_values = old_values,
	    .new_values = new_values,
	    .ip = r->remote_addr,
	    .user_agent = r->user_agent,
	};

	return audit_write(r->tdb, &e);
}

int
req_record(struct req *r, const char *action, const char *entity_type,
           int64_t id, const struct rowtype *type, const void *before,
           const void *after, const char *event)
{
	cJSON *old = NULL, *new = NULL;

	if (before && !(old = json_own(r->a, row_json(type, before))))
		return -1;
	if (after && !(new = json_own(r->a, row_json(type, after))))
		return -1;
	if (req_audit(r, action, entity_type, id, old, new) < 0)
		return -1;
	if (!event)
		return 0;
	return event_emit(r->tdb, event, entity_type, id, new ? new : old);
}

/* A row as JSON text in the request's arena; NULL for NULL. */
static int
row_text(struct req *r, const struct rowtype *type, const void *row,
         const char **out)
{
	cJSON *o;
	char *text;

	*out = NULL;
	if (!row)
		return 0;
	o = json_own(r->a, row_json(type, row));
	if (!o)
		return -1;
	text = cJSON_PrintUnformatted(o);
	if (!text)
		return -1;
	*out = arena_strdup(r->a, text);
	cJSON_free(text);
	return *out ? 0 : -1;
}

int
req_platform_record(struct req *r, const char *action, const char *entity_type,
                    int64_t id, const struct rowtype *type, const void *before,
                    const void *after)
{
	struct platform_audit e = {
	    .admin_id = r->who.user_id,
	    .action = action,
	    .entity_type = entity_type,
	    .entity_id = id,
	    .ip_address = r->remote_addr,
	};
	char ua[256];

	/* As in lib/audit.c: the user agent is capped to its column. */
	if (r->user_agent) {
		snprintf(ua, sizeof(ua), "%s", r->user_agent);
		if (!utf8_valid(ua, strlen(ua)))
			ua[0] = '\0';
		e.user_agent = ua;
	}
	if (row_text(r, type, before, &e.old_values) < 0 ||
	    row_text(r, type, after, &e.new_values) < 0)
		return -1;
	return store_platform_audit_insert(r->db, r->a, &e);
}

static int
param_invalid(struct req *r, const char *key, const char *msg)
{
	req_detail(r, key, msg);
	return req_fail(r, 422, "validation_failed",
	                "a query parameter is invalid");
}

/* Reads ?sort= against the store's keys; 0 or -1 after a 422. */
static int
read_sort(struct req *r, const struct store_list *l, size_t *sort)
{
	const char *v = req_param(r, "sort");
	struct buf b = BUF_INIT(512);
	const char *key, *msg;
	int i;

	*sort = 0;
	if (!v)
		return 0;
	i = store_list_sort(l, v);
	if (i >= 0) {
		*sort = (size_t)i;
		return 0;
	}
	buf_adds(&b, "must be one of: ");
	for (size_t k = 0; (key = store_list_sort_key(l, k)); k++)
		buf_addf(&b, "%s%s", k ? ", " : "", key);
	msg = arena_strdup(r->a, b.s);
	buf_release(&b);
	return param_invalid(r, "sort", msg ? msg : "is not a sort order");
}

/* Reads one filter into its member of filter; 0 or -1 after a 422. */
static int
read_filter(struct req *r, const struct filter_def *f, void *filter)
{
	void *m = (char *)filter + f->off;
	const char *v = req_param(r, f->name);
	int64_t id;
	int b;

	if (f->required && !v)
		return param_invalid(r, f->name, "is required");
	switch (f->type) {
	case FILTER_ID:
		if (req_param_id(r, f->name, &id) < 0)
			return -1;
		*(int64_t *)m = id;
		return 0;
	case FILTER_ENUM:
		return req_param_enum(r, f->name, f->choices, (const char **)m);
	case FILTER_INDEX: {
		const char *c;

		if (req_param_enum(r, f->name, f->choices, &c) < 0)
			return -1;
		*(int *)m = 0;
		for (int i = 0; c && f->choices[i]; i++)
			if (f->choices[i] == c)
				*(int *)m = i;
		return 0;
	}
	case FILTER_BOOL:
		if (req_param_bool(r, f->name, &b) < 0)
			return -1;
		*(int *)m = b == 1;
		return 0;
	case FILTER_DATE:
		return req_param_date(r, f->name, (const char **)m);
	case FILTER_SEARCH:
		while (v && *v == ' ')
			v++;
		if (v && !*v)
			v = NULL;
		/* fall through */
	case FILTER_TEXT:
		if (v && utf8_len(v, strlen(v)) > (size_t)f->max)
			return param_invalid(
			    r, f->name,
			    arena_printf(
			        r->a, "must be at most %" PRId64 " characters",
			        f->max));
		*(const char **)m = v;
		return 0;
	}
	return 0;
}

int
req_query(struct req *r, const struct filter_def *filters, void *out)
{
	for (const struct filter_def *f = filters; f && f->name; f++)
		if (read_filter(r, f, out) < 0)
			return -1;
	return 0;
}

int
reply_list(struct req *r, const struct list_spec *spec)
{
	const struct store_list *l = spec->store;
	int64_t page, per_page, total;
	struct rows rows;
	size_t sort;
	void *filter;
	int rc;

	filter = arena_zalloc(r->a, l->filter_size + 1);
	if (!filter)
		return -1;
	if (req_page(r, &page, &per_page) < 0 || read_sort(r, l, &sort) < 0)
		return -1;
	if (req_query(r, spec->filters, filter) < 0)
		return -1;
	if (spec->parent_get) {
		*(int64_t *)((char *)filter + spec->parent_off) = r->ids[0];
		if (req_found(r, spec->parent_get(r->tdb, r->ids[0]),
		              spec->parent_what) < 0)
			return -1;
	}
	/* A platform administrator's list is one of global statements. */
	if (r->tdb)
		rc = store_list_fetch(r->tdb, l, filter, sort, per_page,
		                      (page - 1) * per_page, &rows, &total);
	else
		rc = store_list_fetch_global(r->db, r->a, l, filter, sort,
		                             per_page, (page - 1) * per_page,
		                             &rows, &total);
	if (rc < 0)
		return -1;
	return reply_page(r, &rows, page, per_page, total);
}
