/*
 * The helpers every handler shares between its typed store calls and the
 * response: "found or 404", a row as the response, the audit entry and
 * event of a change, commit-then-reply, and the one list helper.  They
 * sit beside the handlers (layer: handlers) because they join the
 * pipeline (struct req) to the stores; lib/http.c knows no database.
 *
 * A handler in the house style:
 *
 *	int
 *	tickets_get(struct req *r)
 *	{
 *		struct ticket t;
 *
 *		if (req_found(r, store_ticket_get(r->tdb, r->ids[0], &t),
 *		              "ticket") < 0)
 *			return -1;
 *		return reply_row(r, 200, &ticket_row, &t);
 *	}
 *
 * A handler that fails after tdb_begin() just returns -1 (or a
 * req_fail()): the dispatcher rolls back what it left open.
 */
#ifndef RTRW_REPLY_H
#define RTRW_REPLY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "row.h"

struct store_list;

/*
 * The answer of a store lookup: rc 1 (found) gives 0; rc 0 fails the
 * request with 404 "<what> not found"; rc -1 gives -1.
 */
int req_found(struct req *r, int rc, const char *what);

/* Responds {"data": row} with status. */
int reply_row(struct req *r, int status, const struct rowtype *type,
              const void *row);

/*
 * Responds {"data": [rows], "meta": {page, per_page, total, total_pages}}.
 */
int reply_page(struct req *r, const struct rows *rows, int64_t page,
               int64_t per_page, int64_t total);

/*
 * Commits the handler's transaction, then responds {"data": row} (row
 * NULL: 204 without a body).  -1 when the commit failed.
 */
int reply_commit(struct req *r, int status, const struct rowtype *type,
                 const void *row);

/*
 * Writes the audit entry of a change by the caller, with the request's
 * address and user agent; old and new may be NULL.  0 or -1.
 */
int req_audit(struct req *r, const char *action, const char *entity_type,
              int64_t entity_id, const cJSON *old_values,
              const cJSON *new_values);

/*
 * The audit entry (action on entity_type id, before -> after rows of
 * type, either may be NULL) and, when event is not NULL, the event with
 * the new row (the old one for a deletion).  0 or -1.
 */
int req_record(struct req *r, const char *action, const char *entity_type,
               int64_t id, const struct rowtype *type, const void *before,
               const void *after, const char *event);

/*
 * The platform's audit entry of a change by a platform administrator
 * (platform_audit_logs: a backup or a platform alert belongs to no
 * tenant), on r->db in the handler's transaction: action on entity_type
 * id, before -> after rows of type (either may be NULL), with the
 * request's address and user agent.  0 or -1.
 */
int req_platform_record(struct req *r, const char *action,
                        const char *entity_type, int64_t id,
                        const struct rowtype *type, const void *before,
                        const void *after);

/* How a query parameter fills a member of a list's filter struct. */
enum filter_type {
	FILTER_ID,     /* int64_t: a positive id; absent 0 */
	FILTER_ENUM,   /* const char *: one of choices; absent NULL */
	FILTER_INDEX,  /* int: index of the value in choices; absent 0 */
	FILTER_BOOL,   /* int: true/false; absent 0 */
	FILTER_DATE,   /* const char *: YYYY-MM-DD; absent NULL */
	FILTER_TEXT,   /* const char *: at most max characters; absent NULL */
	FILTER_SEARCH, /* FILTER_TEXT, leading spaces dropped, empty NULL */
};

struct filter_def {
	const char *name;
	enum filter_type type;
	size_t off;
	const char *const *choices; /* FILTER_ENUM, FILTER_INDEX */
	int64_t max;                /* FILTER_TEXT, FILTER_SEARCH */
	const char *doc;            /* one line for the docs */
	int required;               /* absent is 422 */
};

/*
 * Table entries; the member's C type is checked at compile time as in
 * lib/row.h.
 */
#define FILTER_TYPED_(T, m, ctype, t, ch, mx, d)                               \
	{                                                                      \
#m, (t),                                                       \
		    offsetof(T, m) +                                           \
		        0 * sizeof(_Generic(((T *)0)->m, ctype : 1)),          \
		    (ch), (mx), (d), 0                                         \
	}
#define FILTER_ID_(T, m, d) FILTER_TYPED_(T, m, int64_t, FILTER_ID, NULL, 0, d)
#define FILTER_ENUM_(T, m, ch, d)                                              \
	FILTER_TYPED_(T, m, const char *, FILTER_ENUM, ch, 0, d)
#define FILTER_BOOL_(T, m, d) FILTER_TYPED_(T, m, int, FILTER_BOOL, NULL, 0, d)
#define FILTER_DATE_(T, m, d)                                                  \
	FILTER_TYPED_(T, m, const char *, FILTER_DATE, NULL, 0, d)
#define FILTER_TEXT_(T, m, mx, d)                                              \
	FILTER_TYPED_(T, m, const char *, FILTER_TEXT, NULL, mx, d)
#define FILTER_SEARCH_(T, m, mx, d)                                            \
	FILTER_TYPED_(T, m, const char *, FILTER_SEARCH, NULL, mx, d)
/* A parameter that must be given (an export's format). */
#define FILTER_REQUIRED_ENUM_(T, m, ch, d)                                     \
	{                                                                      \
#m, FILTER_ENUM,                                               \
		    offsetof(T, m) +                                           \
		        0 * sizeof(_Generic(((T *)0)->m, const char * : 1)),   \
		    (ch), 0, (d), 1                                            \
	}
/* A parameter whose name is not its member's: name "date_field". */
#define FILTER_NAMED_INDEX_(T, m, n, ch, d)                                    \
	{                                                                      \
		(n), FILTER_INDEX,                                             \
		    offsetof(T, m) +                                           \
		        0 * sizeof(_Generic(((T *)0)->m, int : 1)),            \
		    (ch), 0, (d), 0                                            \
	}
#define FILTER_END                                                             \
	{                                                                      \
		NULL, 0, 0, NULL, 0, NULL, 0                                   \
	}

/*
 * A list route: the store's list, the query parameters that fill its
 * filter, and for a sub-resource ("/tickets/7/comments") the parent:
 * parent_off is the member of the filter that takes r->ids[0], and
 * parent_get answers 1, 0 or -1 for its existence (0: 404 with
 * parent_what).
 */
struct list_spec {
	const struct store_list *store;
	const struct filter_def *filters; /* may be NULL */
	int (*parent_get)(struct tdb *t, int64_t id);
	size_t parent_off;
	const char *parent_what;
};

/*
 * Answers a list request: page and per_page, sort (one of the store's
 * keys), every filter of spec, then one page with its meta block.
 */
int reply_list(struct req *r, const struct list_spec *spec);

/*
 * Reads the query parameters of filters into the struct at out (zeroed
 * first by the caller) for a route that is no list (an export: its spec
 * has no store list).  0, or -1 after a 422 naming the parameter.
 */
int req_query(struct req *r, const struct filter_def *filters, void *out);

#endif
