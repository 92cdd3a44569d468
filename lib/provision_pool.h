/*
 * rtrw-provision's daemon loop: passes of different routers run at the
 * same time, so that a router that is slow or does not answer holds up
 * nobody but itself.
 *
 * Why threads.  A pass (provision_pass()) talks to one router with
 * blocking calls bounded by router_connect_timeout_ms and
 * router_read_timeout_ms: a router that accepts TCP and then says
 * nothing costs its pass up to connect + read timeout (7 s by default)
 * before it is paused.  Run one after another, every other router of
 * the round waited that long too.  Here a pool of provision_workers
 * threads (8 by default) each runs one pass at a time on its own
 * database connection, and the main thread hands every router with due
 * jobs to an idle worker as soon as it is seen: a healthy router waits
 * for nobody as long as fewer than provision_workers routers are in the
 * middle of a slow pass at once.  Routers that failed their last passes
 * are paused with back-off and come last in the due list, so a site with
 * many dead routers spends at most a few workers on them.  Threads rather
 * than processes: a pass already keeps all its state in its own arena
 * and connection (nothing of it is shared but the configuration, read
 * only, and the statement registry, written once before the threads
 * start), and a thread costs no fork and no second copy of the process.
 *
 * The leases (store_provision_lease()) still decide who may talk to a
 * router, so any number of such daemons on any number of hosts share the
 * routers as before, and a router is never in two passes at once; the
 * pool also never hands a router it has in hand to a second worker.
 *
 * Layer: services.
 */
#ifndef RTRW_PROVISION_POOL_H
#define RTRW_PROVISION_POOL_H

#include <signal.h>

struct config;
struct db;
struct provisioner;

/*
 * Serves until *stopping becomes non-zero: looks for routers with due
 * jobs at once, after every nudge on nudge_fd (-1: none, polling only),
 * every provision_poll_ms and whenever a pass ends, and hands each one to
 * an idle worker.  db is the caller's connection, used for the due
 * list only; owner names the lease holder (provision_owner()).  Passes in
 * progress finish before it returns; tot gets every worker's counters
 * added.  Returns 0, or -1 when no worker could be started.
 */
int provision_pool_serve(const struct config *cfg, struct db *db,
                         const char *owner, int nudge_fd,
                         volatile sig_atomic_t *stopping,
                         struct provisioner *tot);

#endif
