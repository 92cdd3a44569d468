#include "store/registry.h"

#include "db.h"

extern const struct stmt_def store_shared_stmts[];
extern const struct stmt_def store_tenant_stmts[];
extern const struct stmt_def store_user_stmts[];
extern const struct stmt_def store_token_stmts[];
extern const struct stmt_def store_platform_stmts[];
extern const struct stmt_def store_audit_stmts[];
extern const struct stmt_def store_alert_stmts[];
extern const struct stmt_def store_plan_stmts[];
extern const struct stmt_def store_customer_stmts[];
extern const struct stmt_def store_payment_stmts[];
extern const struct stmt_def store_ticket_stmts[];
extern const struct stmt_def store_inventory_stmts[];
extern const struct stmt_def store_device_stmts[];
extern const struct stmt_def store_router_stmts[];
extern const struct stmt_def store_boost_stmts[];
extern const struct stmt_def store_provision_stmts[];
extern const struct stmt_def store_event_stmts[];
extern const struct stmt_def store_export_stmts[];
extern const struct stmt_def store_mail_stmts[];
extern const struct stmt_def store_usage_stmts[];
extern const struct stmt_def store_report_stmts[];
extern const struct stmt_def store_dashboard_stmts[];
extern const struct stmt_def store_backup_stmts[];
extern const struct stmt_def store_platform_alert_stmts[];
extern const struct stmt_def store_platform_audit_stmts[];

/*
 * Every statement table; db_register() checks each.  One per line, so
 * that a new store is a one-line change.
 */
/* clang-format off */
static const struct stmt_def *const tables[] = {
    store_shared_stmts,
    store_tenant_stmts,
    store_user_stmts,
    store_token_stmts,
    store_platform_stmts,
    store_audit_stmts,
    store_alert_stmts,
    store_plan_stmts,
    store_customer_stmts,
    store_payment_stmts,
    store_ticket_stmts,
    store_inventory_stmts,
    store_device_stmts,
    store_router_stmts,
    store_boost_stmts,
    store_provision_stmts,
    store_event_stmts,
    store_export_stmts,
    store_mail_stmts,
    store_usage_stmts,
    store_report_stmts,
    store_dashboard_stmts,
    store_backup_stmts,         /* rtrw-backup, /platform/backups */
    store_platform_alert_stmts, /* /platform/alerts */
    store_platform_audit_stmts, /* platform_audit_logs */
    NULL,
};
/* clang-format on */

/*
 * The tables without a tenant_id column: a query over only these needs
 * no tenant filter.  Every other table is a tenant table.  The
 * platform's backups, alerts and audit trail (0015) are global.
 */
static const char *const global_tables[] = {
    "tenants",
    "roles",
    "platform_admins",
    "schema_migrations",
    "email_template_defaults", /* the mailer's default templates */
    "platform_notifications",  /* the platform's mail queue */
    "backups",                 /* 0015: the platform's backups */
    "platform_alerts",         /* alerts of no tenant (backup_failed) */
    "platform_audit_logs",     /* platform admins' actions */
    NULL,
};

int
store_register(char *err, size_t errlen)
{
	return db_register(tables, global_tables, err, errlen);
}
