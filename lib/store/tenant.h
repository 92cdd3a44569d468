/*
 * Tenants.  Registration and look-up by slug are global (nobody is
 * logged in yet); a tenant reading or changing its own row goes through
 * its handle ("tenants.id = :tenant").  Platform routes list, read and
 * delete tenants globally.
 */
#ifndef RTRW_STORE_TENANT_H
#define RTRW_STORE_TENANT_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct tenant {
	int64_t id;
	const char *slug, *name, *timezone, *status, *created_at, *updated_at;
};
extern const struct rowtype tenant_row;

/* A tenant as platform administrators see it: with its user count. */
struct tenant_summary {
	int64_t id;
	const char *slug, *name, *timezone, *status, *created_at, *updated_at;
	int64_t users;
};
extern const struct rowtype tenant_summary_row;

/* Lookups return 1 found, 0 absent, -1 error (db_last_error()). */
int store_tenant_by_slug(struct db *db, struct arena *a, const char *slug,
                         struct tenant *out);

/* Inserts a tenant; DBE_DUPLICATE for a taken slug.  0 or -1. */
int store_tenant_insert(struct db *db, struct arena *a, const char *slug,
                        const char *name, const char *timezone, int64_t *id);

/* Starts the new tenant's audit chain (inside its creating transaction). */
int store_tenant_chain_init(struct tdb *t);

int store_tenant_get_own(struct tdb *t, struct tenant *out);

/* Sets name and/or timezone (NULL keeps the value); 0 or -1. */
int store_tenant_update_own(struct tdb *t, const char *name,
                            const char *timezone);

int store_tenant_get(struct db *db, struct arena *a, int64_t id,
                     struct tenant_summary *out);

/* A page of tenants by id, and their number; 0 or -1. */
int store_tenant_list(struct db *db, struct arena *a, int64_t limit,
                      int64_t offset, struct rows *out, int64_t *total);

/*
 * Deletes the tenant and, through the foreign keys' cascades, all of its
 * data.  1 deleted, 0 no such tenant, -1 error.
 */
int store_tenant_delete(struct db *db, struct arena *a, int64_t id);

#endif
