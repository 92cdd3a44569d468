/*
 * Logging into a tenant's MikroTik router and recording what the login
 * found, shared by the routers endpoints (create, PATCH, test, sync,
 * import) and rtrw-provision, so that every path seals, opens, times out
 * and reports a router the same way.
 *
 * The API password is sealed with the data key under the associated data
 * "router:<tenant>:<id>:password" (lib/crypto.h): a sealed value copied
 * into another row or tenant does not open.  Plain passwords live only in
 * buffers that are wiped with explicit_bzero() on every path.
 *
 * Time: a login costs at most router_connect_timeout_ms +
 * router_read_timeout_ms of the configuration (2 s + 5 s by default);
 * reading identity and version adds one pipelined round trip.
 *
 * Layer: services.
 */
#ifndef RTRW_ROUTERLINK_H
#define RTRW_ROUTERLINK_H

#include <stddef.h>
#include <stdint.h>

#include "routeros.h"

struct arena;
struct config;
struct router_secret;
struct tdb;

/* Longest router password accepted (the API's field table says so too). */
#define ROUTERLINK_PASSWORD_MAX 128

/* What a successful login learnt of the router. */
struct routerlink_info {
	char identity[256];
	char version[64];
	char fingerprint[ROS_FINGERPRINT_HEX + 1]; /* "" on plain TCP */
};

/* The associated data of router id's sealed password, into out. */
void routerlink_aad(char *out, size_t n, int64_t tenant_id, int64_t id);

/*
 * Opens the sealed password of rs into out (cap bytes, NUL-terminated).
 * 0, or -1 when there is none or it does not open.  The caller wipes out.
 */
int routerlink_password(const struct config *cfg,
                        const struct router_secret *rs, char *out, size_t cap);

/*
 * Logs into the router described by rs with password (NUL-terminated,
 * wiped on every path) and reads its identity and RouterOS version into
 * *info.  Returns the connection (ros_close() it), or NULL with *err.
 * large_replies raises the reply cap for printing whole tables (sync,
 * import: up to 64 MiB).
 */
struct ros_conn *routerlink_open(const struct config *cfg,
                                 const struct router_secret *rs, char *password,
                                 int large_replies, struct arena *a,
                                 struct routerlink_info *info,
                                 struct ros_error *err);

/* routerlink_open() with the router's own sealed password. */
struct ros_conn *routerlink_connect(const struct config *cfg,
                                    const struct router_secret *rs,
                                    int large_replies, struct arena *a,
                                    struct routerlink_info *info,
                                    struct ros_error *err);

/*
 * The sentence a failed login leaves in the router's last_error, into
 * out: "unreachable: connection refused", "login refused: invalid user
 * name or password (6)".
 */
void routerlink_error_text(const struct ros_error *err, char *out, size_t n);

/*
 * Records the outcome of a login to router id in the caller's
 * transaction: err NULL is online (last_seen now, identity and version
 * from info, learnt_fingerprint stored when not NULL), otherwise offline
 * with err's text as last_error.  A change of status writes a
 * router:status event and raises (offline) or resolves (online) the
 * router_offline alert.  1 done, 0 when the router is gone, -1 error.
 */
int routerlink_record(struct tdb *t, int64_t id, const struct ros_error *err,
                      const struct routerlink_info *info,
                      const char *learnt_fingerprint);

#endif
