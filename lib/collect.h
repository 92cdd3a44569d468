/*
 * One usage collection cycle (rtrw-monitor usage, run every minute by
 * systemd/rtrw-monitor-usage.timer).
 *
 * Routers are polled in parallel by a pool of threads that do nothing but
 * talk to routers: each logs in once and pipelines three prints on the
 * one connection (/system/resource uptime, /ppp/active sessions, and the
 * byte counters of the pppoe-in interfaces).  The calling thread owns the
 * database: it claims each router just before handing it to a thread
 * (so that collectors started together share the routers instead of the
 * first one taking them all), and stores each router's result as it comes
 * back, in one transaction per router: the raw and rolled-up usage rows
 * (lib/store/usage.h), the customers' last readings, the router's status
 * and last_seen, the router:status event and router_offline alert of a
 * change (with the admins' device_offline email when the alert opens),
 * and the high_usage alerts.  At most `concurrency` routers are in flight;
 * a router that is down or silent holds one thread for at most its
 * connect and read timeouts and delays nobody else.  No new router is
 * claimed after the deadline; those left over wait for the next cycle.
 *
 * Several collectors, on one host or several, may run at once: a router
 * is polled only by the collector that claimed it, and a claim holds for
 * gap_ms by the database's clock.  The collector that claims a tenant's
 * lowest-numbered router writes that tenant's monitoring:update event
 * after its own routers are stored (routers another collector still has
 * in hand show their previous poll).  Afterwards the partition upkeep
 * and the purge of deleted tenants run (lib/store/usage.h; both are safe
 * to run from several collectors).
 *
 * Layer: services.
 */
#ifndef RTRW_COLLECT_H
#define RTRW_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;

struct collect_opts {
	size_t concurrency;  /* routers in flight, >= 1 */
	int connect_ms;      /* TCP + TLS of one router */
	int read_ms;         /* the login, and each reply */
	int64_t gap_ms;      /* how long a claim holds */
	int64_t deadline_ms; /* no new claims after this much time */
	int64_t tenant;      /* 0: every active tenant */
	time_t now;          /* the clock of buckets and months; 0: time() */
	const char *owner;   /* who claims: "host:pid" */
	int maintenance;     /* run the partition upkeep and purge */
};

struct collect_totals {
	long routers; /* live routers seen */
	long claimed; /* polled by this collector */
	long skipped; /* held by another collector (or past the deadline) */
	long online, offline;
	long sessions;  /* /ppp/active rows read */
	long matched;   /* of which belong to a customer on the router */
	long samples;   /* readings stored with a delta */
	long kinds[16]; /* readings by enum usage_kind */
	long rows;      /* rows written (four levels, sessions) */
	long alerts_raised, alerts_resolved;
	long failed; /* routers whose result could not be stored */
	int64_t poll_us, store_us, wall_us;
};

/*
 * Runs one cycle.  Returns 0 when every claimed router's result was
 * stored (routers that were down count as stored: that is their result),
 * 1 when some could not be (the database failed), -1 when the cycle
 * could not start.  tot is filled in any case.
 */
int collect_usage(const struct config *cfg, const struct collect_opts *o,
                  struct collect_totals *tot);

#endif
