/*
 * Provisioning MikroTik routers: rtrw-provision's passes, reconciliation
 * (POST /routers/{id}/sync and rtrw-provision sync) and import (POST
 * /routers/{id}/import).  README "Provisioning" tells the whole story;
 * the rules in short:
 *
 *  - A job means "make this router match what the customer should be
 *    now": the customer's current status, PPPoE name and password and
 *    the plan it runs at now (store_boost_effective_plan(), so a boost
 *    needs no job of its own beyond change_profile).  Active: the secret
 *    exists, enabled, with that password and profile, service=pppoe and
 *    the ownership marker; suspended: the same but disabled, and its
 *    /ppp/active session removed; terminated, deleted, pending or moved
 *    to another router: the secret is removed (no such item is success).
 *    A change_profile job, and any change of the secret's profile, also
 *    removes the session, since RouterOS applies a profile at login.  So
 *    applying a job twice, or a later job after an earlier one, changes
 *    nothing more: several jobs of one customer in a pass are applied as
 *    one and all end done.
 *  - Ownership: every secret the product manages carries
 *    "rtrw:<customer_code>" as the first word of its comment.  Nothing
 *    without that marker is changed or removed, with one exception:
 *    activating (or suspending) a customer adopts a secret of the same
 *    name, as the issue asks, by setting its fields and the marker.
 *  - Plans are PPP profiles named mikrotik_profile, created or updated
 *    (rate-limit only) before the secrets that use them.
 *
 * Layer: services.
 */
#ifndef RTRW_PROVISION_H
#define RTRW_PROVISION_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "routeros.h"

struct arena;
struct config;
struct db;
struct plan;
struct tdb;

/* The marker's prefix; the marker is PROVISION_MARKER "C-000042". */
#define PROVISION_MARKER "rtrw:"

/*
 * The rate-limit of plan p from the router's point of view (rx, the
 * customer's upload, first), in k: "UPk/DOWNk", and with a burst
 * "UPk/DOWNk BURST_UPk/BURST_DOWNk THR_UPk/THR_DOWNk TIME/TIME PRIO".
 * A burst direction left unset bursts to its normal rate, an unset
 * threshold is the normal rate, an unset burst_time is 8 s and an unset
 * priority 8 (RouterOS's defaults).  Writes into out (n >= 128).
 */
void provision_rate_limit(const struct plan *p, char *out, size_t n);

/*
 * The customer code a comment's marker names ("C-000042" of
 * "rtrw:C-000042 Budi"), copied into out; 1 when the comment carries a
 * marker, 0 when not.
 */
int provision_marker_code(const char *comment, char *out, size_t n);

/* The daemon's state: its connection, identity and counters. */
struct provisioner {
	const struct config *cfg;
	struct db *db;
	char owner[100]; /* "host:pid", the lease owner */
	/* Counters since start, for the log and the tests. */
	long passes, jobs_done, jobs_retried, jobs_failed, router_failures;
};

/*
 * One pass over router_id of tenant_id (the steps at the top of
 * lib/provision.c): takes the router's lease (or returns 0 at once when
 * another pass holds it), claims its due jobs, applies them and records
 * every outcome, all on pv->db, in an arena of its own.  Returns the
 * number of jobs handled, or -1 when the database failed.  A router that
 * does not answer costs at most its connect and read timeouts here, and
 * only here: rtrw-provision runs passes of different routers in parallel
 * (lib/provision_pool.h).
 */
int provision_pass(struct provisioner *pv, int64_t tenant_id,
                   int64_t router_id);

/*
 * One round, one router after another: every router with due jobs (up
 * to 100 of them), one pass each.  Returns the number of jobs handled
 * (0: nothing was due), or -1 when the database failed.  For
 * `rtrw-provision once` and the tests; the daemon runs passes in
 * parallel instead (provision_pool_serve()).
 */
int provision_round(struct provisioner *pv);

/* What provision_sync() and provision_import() report on failure. */
enum provision_status {
	PROVISION_OK = 0,
	PROVISION_GONE,    /* no such router */
	PROVISION_BUSY,    /* another pass holds the router's lease */
	PROVISION_ROUTER,  /* the router failed; err says how */
	PROVISION_INVALID, /* the request does not fit (message says why) */
	PROVISION_ERROR,   /* the database failed */
};

/*
 * Reconciles router_id of t's tenant: compares the router's secrets and
 * profiles with the customers on it and, unless dry_run, repairs drift
 * (see the README for what counts).  owner names the lease holder.
 * Appends one object per difference to changes: {"kind", "name",
 * "problem", "action"} (and "error" when a repair was refused).  The
 * router's status is recorded in its own transaction.  Runs outside any
 * transaction of the caller.  Commands and results live in a (the
 * request's arena).
 */
enum provision_status provision_sync(const struct config *cfg, struct tdb *t,
                                     struct arena *a, int64_t router_id,
                                     int dry_run, const char *owner,
                                     cJSON *changes, struct ros_error *err);

/* What an import is asked to do. */
struct provision_import_req {
	int64_t default_plan;  /* 0: none */
	const cJSON *profiles; /* {"profile": plan_id}, or NULL */
	int dry_run;
	int64_t user_id; /* for the audit entry */
	const char *ip, *user_agent;
};

/*
 * Imports router_id's PPPoE secrets as customers (API.md "Routers and
 * provisioning: details") in one transaction of its own, adding the
 * marker to each imported secret's comment.  Fills created (ids, or the
 * names a dry run would import) and skipped ({"name", "reason"}).
 * PROVISION_INVALID with message set for a mapping to a plan that is not
 * an active plan of the tenant.
 */
enum provision_status provision_import(const struct config *cfg, struct tdb *t,
                                       struct arena *a, int64_t router_id,
                                       const struct provision_import_req *q,
                                       const char *owner, cJSON *created,
                                       cJSON *skipped, char *message,
                                       size_t msglen, struct ros_error *err);

/*
 * After a change of plan_id's speeds, burst or profile name: queues a
 * change_profile job for every active or suspended customer on a router
 * whose plan it is, in a transaction of its own that locks each customer
 * before its job (as the customer actions do; the plan's own transaction
 * must be committed first, since customers lock before plans).  *n gets
 * the number queued.  0 or -1 (nothing queued).
 */
int provision_queue_plan(struct tdb *t, int64_t plan_id, const char *profile,
                         int64_t *n);

/* "host:pid" into out: the lease owner of this process. */
void provision_owner(char *out, size_t n);

#endif
