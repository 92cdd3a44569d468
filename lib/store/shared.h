/*
 * The small shared tables every feature writes into inside its own
 * transaction: per-tenant counters (customer codes, ticket numbers),
 * queued email notifications, and the health check's ping.
 */
#ifndef RTRW_STORE_SHARED_H
#define RTRW_STORE_SHARED_H

#include <stdint.h>

#include "tdb.h"

/*
 * Stores the next value of the tenant's counter name (1, 2, ...) from
 * one atomic upsert on its row; 0 or -1.
 */
int store_counter_next(struct tdb *t, const char *name, int64_t *out);

/*
 * Queues one notification to a user (user_id) or an address (email);
 * dedupe_key (may be NULL) makes it idempotent.  1 queued, 0 already
 * queued, -1 error.
 */
int store_notify_queue(struct tdb *t, const char *template_key, int64_t user_id,
                       const char *email, const char *payload,
                       const char *dedupe_key);

/* Queues one notification to every active admin of the tenant. */
int store_notify_admins(struct tdb *t, const char *template_key,
                        const char *payload, const char *dedupe_key);

/* SELECT 1 on the connection: 0 when the server answers, -1 otherwise. */
int store_health_ping(struct db *db, struct arena *a);

#endif
