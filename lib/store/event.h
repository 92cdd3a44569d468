/*
 * The events outbox (lib/events.c writes it, the WebSocket daemon
 * lib/wsd.c and the retention job read and prune it).  See lib/events.h
 * for why a writer locks the tenant's audit chain head before it takes an
 * event id, and how the per-tenant heads (migration event_heads) let the
 * daemon keep one cursor per tenant.
 */
#ifndef RTRW_STORE_EVENT_H
#define RTRW_STORE_EVENT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

/* Rows store_event_after() returns at most. */
#define EVENT_AFTER_LIMIT 200

/*
 * Locks the tenant's writer row (the audit chain head, creating it for
 * tenants older than the chain table) and tells whether the caller is
 * inside a transaction (*in_tx).  0 or -1.
 */
int store_event_lock(struct tdb *t, int *in_tx);

/*
 * Inserts an events row (entity_id 0 for none, data JSON or NULL) and
 * advances the tenant's head to its id.  0 or -1.
 */
int store_event_insert(struct tdb *t, const char *name, const char *entity_type,
                       int64_t entity_id, const char *data);

/* The tenant's newest committed event and the highest id pruned. */
struct event_head {
	int64_t last_id, pruned_id;
};
/* 1 with the head, 0 when the tenant has no events yet, -1 on error. */
int store_event_head(struct tdb *t, struct event_head *out);

/* One event as the daemon sends it. */
struct event_row {
	int64_t id;
	const char *name, *data, *created_at;
};

/* Up to EVENT_AFTER_LIMIT events of the tenant after id; 0 or -1. */
int store_event_after(struct tdb *t, int64_t after, struct rows *out);

/* The users of the tenant, for the daemon's re-reads of its clients. */
struct event_user {
	int64_t id;
	const char *role;
	int active;
};
int store_event_users(struct tdb *t, struct rows *out);

/*
 * Retention of one tenant: the newest id created before cutoff ("YYYY-
 * MM-DD HH:MM:SS", UTC; *id 0 when none), marking pruned_id, and deleting
 * up to 5,000 rows at or below id (*deleted).  0 or -1.
 */
int store_event_prune_boundary(struct tdb *t, const char *cutoff, int64_t *id);
int store_event_prune_mark(struct tdb *t, int64_t id);
int store_event_prune_delete(struct tdb *t, int64_t id, int64_t *deleted);

/* A tenant's head, for the daemon's poll across the tenants it serves. */
struct event_tenant_head {
	int64_t tenant_id, last_id;
};

/*
 * The heads of the tenants lo..hi (the range the daemon serves; it
 * filters the rest); 0 or -1.
 */
int store_event_heads(struct db *db, struct arena *a, int64_t lo, int64_t hi,
                      struct rows *out);

/* The newest event id of any tenant (0 for none); 0 or -1. */
int store_event_max_id(struct db *db, struct arena *a, int64_t *id);

/* Up to 500 tenants with events after tenant id after; 0 or -1. */
int store_event_tenants(struct db *db, struct arena *a, int64_t after,
                        struct rows *out);

#endif
