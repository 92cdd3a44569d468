#include "audit.h"
#include "counter.h"
#include "events.h"
#include "notify.h"
#include "store/store.h"

#include <stddef.h>

/* Every statement table; db_check_statements() walks this list. */
const struct stmt_def *const store_tables[] = {
    store_health_stmts, store_audit_write_stmts, store_tenant_stmts,
    store_user_stmts,   store_token_stmts,       store_platform_stmts,
    store_audit_stmts,  store_alert_stmts,       NULL,
};
