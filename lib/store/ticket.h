/* Support tickets and their comments. */
#ifndef RTRW_STORE_TICKET_H
#define RTRW_STORE_TICKET_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct ticket {
	int64_t id;
	const char *ticket_number;
	int64_t customer_id;
	const char *title, *description, *priority, *status;
	int64_t assigned_to, created_by;
	const char *resolved_at, *closed_at, *created_at, *updated_at;
};
extern const struct rowtype ticket_row;

/* Filters of GET /tickets (0 and NULL: any). */
struct ticket_filter {
	int64_t customer_id, assigned_to;
	const char *status, *priority;
};
extern const struct store_list store_ticket_list;

struct ticket_comment {
	int64_t id, ticket_id, author_id;
	const char *author_name, *body, *created_at;
};
extern const struct rowtype ticket_comment_row;

struct ticket_comment_filter {
	int64_t ticket_id;
};
extern const struct store_list store_ticket_comment_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_ticket_get(struct tdb *t, int64_t id, struct ticket *out);
int store_ticket_lock(struct tdb *t, int64_t id, struct ticket *out);

/* Inserts t (ticket_number, customer, title, description, priority,
 * assigned_to, created_by); 0 or -1. */
int store_ticket_insert(struct tdb *t, const struct ticket *tk, int64_t *id);

/*
 * A change: NULL strings keep their column; assigned_to applies only
 * with set_assignee (0 unassigns).  A new status stamps resolved_at or
 * closed_at.
 */
struct ticket_change {
	const char *title, *description, *priority, *status;
	int set_assignee;
	int64_t assigned_to;
};
int store_ticket_update(struct tdb *t, int64_t id,
                        const struct ticket_change *c);

/* The customer of a new ticket: its name and code for the email. */
struct ticket_customer {
	int64_t id;
	const char *customer_code, *name;
};
int store_ticket_customer(struct tdb *t, int64_t id,
                          struct ticket_customer *out);

/* Whether uid is an active user of the tenant: 1, 0 or -1. */
int store_ticket_assignee_ok(struct tdb *t, int64_t uid);

int store_ticket_comment_insert(struct tdb *t, int64_t ticket_id,
                                int64_t user_id, const char *body, int64_t *id);
int store_ticket_comment_get(struct tdb *t, int64_t id,
                             struct ticket_comment *out);

/* Open tickets by status for the dashboard. */
struct ticket_counts {
	int64_t open, in_progress, resolved, closed;
};
int store_ticket_counts(struct tdb *t, struct ticket_counts *out);

#endif
