/*
 * The WebSocket event daemon (rtrw-events): delivers the events outbox
 * (lib/events.h) to the tenants' browsers over libwebsockets, behind
 * nginx's /ws location.  One process, one thread, one event loop; the
 * database calls are short and made from the loop.
 *
 * Handshake.  The access token comes as ?token=JWT, as "Authorization:
 * Bearer JWT", or as the subprotocol pair "bearer, JWT" (nginx turns the
 * pair into the Authorization header and offers "bearer" alone, because
 * libwebsockets 4.1 refuses subprotocol lists longer than 127 bytes).  A
 * bad, expired, tampered or platform token, or a user who is no longer
 * active, is answered with HTTP 401 and a JSON error before the upgrade;
 * "bearer" is echoed when it was offered.
 *
 * Messages (docs/asyncapi.yaml is the contract):
 *   server  {"id", "event", "at", "data"}  one event
 *           {"type": "resync_required"}     a resume the table cannot serve
 *           {"type": "authenticated", "expires_at"}  a fresh token took
 *           {"type": "pong"}  {"type": "error", "code", "message"}
 *   client  {"type": "resume", "last_event_id": N}
 *           {"type": "auth", "token": JWT}  {"type": "ping"}
 *
 * Delivery.  The daemon keeps, per tenant with connected clients, a
 * cursor: the highest event id it has read.  A nudge datagram naming the
 * tenant, or the poll of the tenants' heads every events_poll_ms, makes
 * it read "id > cursor" in id order and hand each event to every live
 * client of the tenant whose role may see it and whose own cursor is
 * below the id (so nothing is sent twice).  lib/events.h explains why a
 * per-tenant cursor cannot skip an event that committed late.
 *
 * Each connection has its own cursor too.  A new connection waits
 * WSD_RESUME_GRACE_MS for a resume before it goes live; a resume asks for
 * everything above last_event_id: the connection drops what it had not
 * written yet and replays from the table, batch by batch as it drains,
 * then goes live, so replayed events come before live ones, in id order,
 * with no gap and no duplicate.  A resume below the tenant's pruned_id
 * (retention) or above the newest id there is gets resync_required and
 * then live events from now.  A resume later than the grace restarts the
 * stream at last_event_id: events this connection already received above
 * it come again.
 *
 * Closing codes: 4001 the token expired (unless an "auth" message brought
 * a fresh one for the same user), 4003 the user was deactivated or
 * deleted (rows re-read every auth_cache_ms, at least every 100 ms),
 * 4008 the client fell more than WSD_QUEUE_MAX messages behind (it should
 * reconnect and resume), 1008 more than WSD_MSGS_PER_SEC messages a
 * second, 1009 a message over WSD_MSG_MAX bytes, 1001 shutdown.  A peer
 * that answers no ping for twice events_ping_seconds is dropped.
 */
#ifndef RTRW_WSD_H
#define RTRW_WSD_H

#include <signal.h>

struct config;

#define WSD_RESUME_GRACE_MS 250
#define WSD_QUEUE_MAX       1000
#define WSD_MSG_MAX         4096
#define WSD_MSGS_PER_SEC    20

/*
 * Runs the daemon until *stop becomes non-zero (a signal handler sets it
 * and calls wsd_wake()).  c must hold the secrets.  Returns 0 after a
 * clean stop, -1 when it could not start (logged).
 */
int wsd_run(const struct config *c, volatile sig_atomic_t *stop);

/* Wakes the event loop from a signal handler. */
void wsd_wake(void);

/*
 * The least role that may receive event name (an enum role), or -1 for
 * a name nobody receives (an event added without a line in this table).
 */
int wsd_event_min_role(const char *name);

#endif
