/*
 * The platform's audit trail: what platform administrators did that
 * belongs to no tenant (queuing a backup or a verification,
 * acknowledging a platform alert).  A tenant's audit_logs row needs its
 * tenant; these actions have none.  The table refuses changes and
 * deletions (triggers), and the application account may only read and
 * insert.  Global.
 */
#ifndef RTRW_STORE_PLATFORM_AUDIT_H
#define RTRW_STORE_PLATFORM_AUDIT_H

#include <stdint.h>

#include "tdb.h"

/* One entry; old_values and new_values are JSON text or NULL. */
struct platform_audit {
	int64_t admin_id;
	const char *action, *entity_type;
	int64_t entity_id;
	const char *old_values, *new_values, *ip_address, *user_agent;
};

/* Writes e in the connection's transaction, if any: 0 or -1. */
int store_platform_audit_insert(struct db *db, struct arena *a,
                                const struct platform_audit *e);

#endif
