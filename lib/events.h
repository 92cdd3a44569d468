/*
 * Real-time events.  A change writes an event row in its own transaction
 * (so an event exists exactly when the change committed); the WebSocket
 * daemon (rtrw-events, lib/wsd.c) delivers rows in id order to the
 * tenant's clients, who may resume from the last id they saw.
 *
 * Names: customer:created|updated|deleted, payment:created|updated,
 * ticket:created|updated, device:status, router:status,
 * monitoring:update, alert:created, speed_boost:updated,
 * report:completed.
 *
 * Ordering (the outbox trap).  Ids come from AUTO_INCREMENT when the row
 * is inserted, but transactions commit in another order, so "everything
 * above the last id seen" would skip an event whose transaction took
 * longer.  A client only ever sees its own tenant, so what matters is the
 * order within a tenant, and event_emit() makes that order the commit
 * order: before it takes an id it locks the tenant's audit chain head
 * (SELECT ... FOR UPDATE on audit_chain, the row audit_write() locks
 * anyway), and the lock is held until the transaction ends.  The next
 * writer of the tenant gets its id only after this one committed or
 * rolled back, so within a tenant a visible event N implies that every
 * event of the tenant below N is visible too, and the daemon may keep one
 * cursor per tenant ("id > cursor").  The audit row is the lock, rather
 * than a head row of the events' own, because some writers emit before
 * they audit (a device check) and others after: with two lock rows they
 * would take them in opposite orders and deadlock.  A rolled-back
 * transaction leaves a hole in the ids, which is harmless: ids are
 * global, a client sees gaps anyway.
 *
 * Outside a transaction event_emit() opens and commits one of its own,
 * because an autocommit INSERT could still commit after a later one.
 *
 * Latency: after the COMMIT of a transaction that emitted, the writer
 * sends the tenant id as one datagram to the daemon's Unix socket
 * (events_socket).  That nudge is lossy by design (no daemon, a full
 * socket buffer, another host): the daemon polls the heads of the
 * tenants it serves every events_poll_ms as well.
 */
#ifndef RTRW_EVENTS_H
#define RTRW_EVENTS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <time.h>

struct arena;
struct config;
struct db;
struct tdb;

/*
 * Records event name about (entity_type, entity_id; 0 for none) with
 * data (may be NULL) in the caller's transaction, and remembers the
 * tenant for the nudge after COMMIT.  0 or -1.
 */
int event_emit(struct tdb *t, const char *name, const char *entity_type,
               int64_t entity_id, const cJSON *data);

/*
 * Sends one nudge for tenant_id to the daemon's datagram socket at path.
 * Never blocks and never fails: a lost nudge costs at most one poll
 * interval.
 */
void events_nudge(const char *path, int64_t tenant_id);

struct events_prune_totals {
	long tenants; /* tenants that had expired events */
	long deleted; /* event rows removed */
};

/*
 * Retention: deletes every event older than days before now, tenant by
 * tenant in batches, after raising the tenant's pruned_id to the newest
 * id removed (a client resuming from below it is told resync_required).
 * The arena is reset between pages of tenants.  0, or -1 when the database
 * failed (what was done stays done; running again continues).
 */
int events_prune(struct db *db, struct arena *a, int days, time_t now,
                 struct events_prune_totals *tot);

#endif
