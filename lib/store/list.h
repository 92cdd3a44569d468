/*
 * Lists: one description per listable resource, so that a list handler
 * is a table of query filters plus one call (fcgi/reply.c), and every
 * list pages, sorts and counts the same way.
 *
 * A store module describes its list with a struct store_list: the row
 * type of an item, the filter struct its statements bind (the handler's
 * filter table fills it from the query string), the whitelisted sorts,
 * and either a page statement and a count statement (the common case) or
 * a fetch function of its own (customers: search and counter tables).
 */
#ifndef RTRW_STORE_LIST_H
#define RTRW_STORE_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"

struct arena;
struct db;
struct tdb;
struct stmt_def;
struct sort_def;
struct store_list;

typedef int (*store_list_fn)(struct tdb *t, const struct store_list *l,
                             const void *filter, size_t sort, int64_t limit,
                             int64_t offset, struct rows *out, int64_t *total);

struct store_list {
	const struct rowtype *row;    /* one item */
	size_t filter_size;           /* sizeof the filter struct */
	const struct sort_def *sorts; /* the page statement's whitelist */
	const struct stmt_def *page;  /* :limit/:offset, {ORDER} */
	const struct stmt_def *count; /* SELECT COUNT(*) AS n, same filter */
	store_list_fn fetch;          /* NULL: page + count */
};

/*
 * Reads one page of l with filter (a struct of l->filter_size bytes)
 * into out and the total into *total.  A page that is not full ends the
 * list, so its total needs no count; otherwise the count statement runs.
 * 0 or -1.
 */
int store_list_fetch(struct tdb *t, const struct store_list *l,
                     const void *filter, size_t sort, int64_t limit,
                     int64_t offset, struct rows *out, int64_t *total);

/*
 * The same for a list of global statements (the platform's lists: a
 * platform administrator has no tenant handle), on db with rows in a.
 * A list with a fetch function of its own is a tenant list: -1.
 */
int store_list_fetch_global(struct db *db, struct arena *a,
                            const struct store_list *l, const void *filter,
                            size_t sort, int64_t limit, int64_t offset,
                            struct rows *out, int64_t *total);

/* The index of key among l's sorts, or -1. */
int store_list_sort(const struct store_list *l, const char *key);

/* The sort keys of l, for documentation (--schema); NULL-terminated. */
const char *store_list_sort_key(const struct store_list *l, size_t i);

#endif
