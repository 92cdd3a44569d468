/*
 * Network devices.  The sealed secrets (password_enc, snmp_community_enc)
 * are written here and never selected: no statement of this file reads
 * them back, so no response, log line or audit entry can carry them.
 */
#ifndef RTRW_STORE_DEVICE_H
#define RTRW_STORE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

/* A device; port and uplink_id are 0 when not set. */
struct device {
	int64_t id;
	const char *name, *type, *ip_address;
	int64_t port;
	const char *location, *username;
	int64_t uplink_id;
	const char *status, *last_seen, *last_checked_at;
	const char *created_at, *updated_at;
};
extern const struct rowtype device_row;

struct device_filter {
	const char *type, *status, *location;
};
extern const struct store_list store_device_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_device_get(struct tdb *t, int64_t id, struct device *out);
int store_device_lock(struct tdb *t, int64_t id, struct device *out);

/* Inserts d (name, type, ip_address, port, location, username, uplink). */
int store_device_insert(struct tdb *t, const struct device *d, int64_t *id);

/* Writes the changeable fields of d (merged by the caller); 0 or -1. */
int store_device_update(struct tdb *t, const struct device *d);

/*
 * Sets the sealed secrets of device id: each applies only when its set_
 * flag is on; a NULL value then clears it.  0 or -1.
 */
struct device_secrets {
	int set_password, set_community;
	struct bytes password, community;
};
int store_device_set_secrets(struct tdb *t, int64_t id,
                             const struct device_secrets *s);

/*
 * Records a check: status, last_checked_at now, and last_seen now when
 * answered.  0 or -1.
 */
int store_device_set_status(struct tdb *t, int64_t id, const char *status,
                            int answered);

/* Soft delete; the secrets go at once.  0 or -1. */
int store_device_delete(struct tdb *t, int64_t id);

/* Live devices naming id as their uplink; 0 or -1. */
int store_device_dependants(struct tdb *t, int64_t id, int64_t *n);

/* The uplink of device id (0: none); 1, 0 (no device) or -1. */
int store_device_uplink_of(struct tdb *t, int64_t id, int64_t *uplink);

/* What the monitor checks. */
struct device_target {
	int64_t id, tenant_id;
	const char *ip_address;
	int64_t port;
};

/*
 * Up to limit live devices after id in id order: of every active tenant
 * (db), or of the handle's tenant (tdb).  0 or -1.
 */
int store_device_all_live(struct db *db, struct arena *a, int64_t after,
                          int64_t limit, struct rows *out);
int store_device_live(struct tdb *t, int64_t after, int64_t limit,
                      struct rows *out);

#endif
