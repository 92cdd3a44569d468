/*
 * The audit log's rows: writing an entry onto the tenant's hash chain
 * (lib/audit.c computes the hashes), reading entries, walking a chain,
 * and the maintenance account's archive of entries past retention.
 */
#ifndef RTRW_STORE_AUDIT_H
#define RTRW_STORE_AUDIT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

/* An entry as the API shows it (old and new values embedded as JSON). */
struct audit_log {
	int64_t id, user_id;
	const char *action, *entity_type;
	int64_t entity_id;
	const char *old_values, *new_values, *ip_address, *user_agent;
	const char *created_at;
};
extern const struct rowtype audit_log_row;

/* Filters of GET /audit-logs; from and to are inclusive dates. */
struct audit_filter {
	int64_t user_id, entity_id;
	const char *action, *entity_type, *from, *to;
};
extern const struct store_list store_audit_list;

int store_audit_get(struct tdb *t, int64_t id, struct audit_log *out);

/*
 * An entry exactly as stored and hashed: values as their JSON text, the
 * time with microseconds, the chain hashes.  tenant_id is set only by the
 * archive page.
 */
struct audit_stored {
	int64_t id, tenant_id;
	const char *user_id, *action, *entity_type, *entity_id;
	const char *old_values, *new_values, *ip_address, *user_agent, *at;
	const char *prev_hash, *hash;
};
extern const struct rowtype audit_stored_row;

/*
 * Locks the tenant's chain head, creating it for tenants older than the
 * chain table, and stores its hash in *prev (NULL for an empty chain).
 * 0 or -1.
 */
int store_audit_chain_lock(struct tdb *t, const char **prev);

/* A new entry: user_id and entity_id 0 for none, values masked JSON. */
struct audit_new {
	int64_t user_id, entity_id;
	const char *action, *entity_type, *old_values, *new_values;
	const char *ip_address, *user_agent, *at, *prev_hash, *hash;
};

/* Appends an entry; 0 or -1. */
int store_audit_insert(struct tdb *t, const struct audit_new *e, int64_t *id);

/* Moves the chain head to entry id with hash; 0 or -1. */
int store_audit_chain_advance(struct tdb *t, int64_t id, const char *hash);

/* The chain head's hash (*hash NULL when none); 0 or -1. */
int store_audit_chain_head(struct tdb *t, const char **hash);

/* Up to 1,000 entries after id, oldest first; 0 or -1. */
int store_audit_chain_page(struct tdb *t, int64_t after, struct rows *out);

/*
 * The maintenance account's archive: up to 500 entries older than days
 * after id, oldest first, and the deletion of one entry.
 */
int store_audit_archive_page(struct db *db, struct arena *a, int64_t days,
                             int64_t after, struct rows *out);
int store_audit_archive_delete(struct db *db, struct arena *a, int64_t id);

#endif
