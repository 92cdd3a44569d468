#include "audit.h"
#include "counter.h"
#include "events.h"
#include "notify.h"
#include "store/store.h"

#include <stddef.h>

/* Every statement table; db_check_statements() walks this list. */
const struct stmt_def *const store_tables[] = {
    /* Identity and the shared services. */
    store_health_stmts,
    store_audit_write_stmts,
    store_tenant_stmts,
    store_user_stmts,
    store_token_stmts,
    store_platform_stmts,
    store_audit_stmts,
    store_alert_stmts,
    store_counter_stmts,
    store_notify_stmts,
    store_event_stmts,
    /* Plans, customers, payments, billing, dashboard. */
    store_plan_stmts,
    store_customer_stmts,
    store_payment_stmts,
    store_billing_global_stmts,
    store_dashboard_stmts,
    /* Tickets, inventory, devices, alerts. */
    store_ticket_stmts,
    store_inventory_stmts,
    store_device_stmts,
    store_device_global_stmts,
    store_alert_ops_stmts,
    /* Backups. */
    store_backup_stmts,
    NULL,
};
