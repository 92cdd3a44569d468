#include "audit.h"
#include "counter.h"
#include "events.h"
#include "notify.h"
#include "store/store.h"

#include <stddef.h>

/* Every statement table; db_check_statements() walks this list. */
const struct stmt_def *const store_tables[] = {
    store_health_stmts,
    store_audit_write_stmts,
    store_tenant_stmts,
    store_user_stmts,
    store_token_stmts,
    store_platform_stmts,
    store_audit_stmts,
    store_alert_stmts,
    /* Issue 4: plans, customers, payments, billing, dashboard. */
    store_plan_stmts,
    store_customer_stmts,
    store_payment_stmts,
    store_billing_global_stmts,
    store_dashboard_stmts,
    /* Issue 4 (end). */
    /* Issue 5: tickets, inventory, devices, alerts; and the shared
       counter, event and notification statements they use (listing a
       table twice would be harmless). */
    store_ticket_stmts,
    store_inventory_stmts,
    store_device_stmts,
    store_device_global_stmts,
    store_alert_ops_stmts,
    store_counter_stmts,
    store_event_stmts,
    store_notify_stmts,
    /* Issue 5 (end). */
    NULL,
};
