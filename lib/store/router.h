/*
 * MikroTik routers of a tenant (API.md "Routers and provisioning").  The
 * sealed API password is written here and read back only by
 * store_router_secret(), for the code that logs into the router; no row
 * that reaches a response carries it.
 */
#ifndef RTRW_STORE_ROUTER_H
#define RTRW_STORE_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

/* A router as the API shows it; uplink_capacity_kbps 0 is not set. */
struct router {
	int64_t id;
	const char *name, *host;
	int64_t api_port;
	int use_tls, tls_anonymous;
	const char *tls_fingerprint, *username, *status, *routeros_version;
	const char *identity, *last_seen, *last_error;
	int64_t uplink_capacity_kbps;
	const char *created_at, *updated_at;
};
extern const struct rowtype router_row;

struct router_filter {
	const char *status;
};
extern const struct store_list store_router_list;

/* What logging into the router needs: its row and the sealed password. */
struct router_secret {
	int64_t id, tenant_id;
	const char *name, *host;
	int64_t api_port;
	int use_tls, tls_anonymous;
	const char *tls_fingerprint, *username, *status;
	struct bytes password_enc;
};

/* Lookups return 1 found, 0 absent, -1 error. */
int store_router_get(struct tdb *t, int64_t id, struct router *out);
int store_router_lock(struct tdb *t, int64_t id, struct router *out);
int store_router_secret(struct tdb *t, int64_t id, struct router_secret *out);

/* Inserts rt (name, host, port, TLS settings, username, capacity). */
int store_router_insert(struct tdb *t, const struct router *rt, int64_t *id);

/* Writes the changeable fields of rt (merged by the caller); 0 or -1. */
int store_router_update(struct tdb *t, const struct router *rt);

/* Stores the sealed password of router id; 0 or -1. */
int store_router_set_password(struct tdb *t, int64_t id, const unsigned char *p,
                              size_t n);

/*
 * Records what a login found: status online or offline; on success
 * last_seen now, version and identity (NULL keeps them), a learnt
 * fingerprint (NULL keeps it); last_error (NULL clears it).  0 or -1.
 */
struct router_seen {
	const char *status, *routeros_version, *identity, *tls_fingerprint;
	const char *last_error;
};
int store_router_set_seen(struct tdb *t, int64_t id,
                          const struct router_seen *s);

/* Soft delete; the password goes at once.  0 or -1. */
int store_router_delete(struct tdb *t, int64_t id);

/* Live, non-terminated customers on router id; 0 or -1. */
int store_router_users(struct tdb *t, int64_t id, int64_t *n);

/* A live router of any active tenant, for the jobs that poll them. */
struct router_ref {
	int64_t id, tenant_id;
};

/* Up to limit live routers after id, in id order; 0 or -1. */
int store_router_all_live(struct db *db, struct arena *a, int64_t after,
                          int64_t limit, struct rows *out);

/* The same for the handle's tenant only; 0 or -1. */
int store_router_live(struct tdb *t, int64_t after, int64_t limit,
                      struct rows *out);

#endif
