/*
 * The route table: the only place URL paths appear.  Patterns under
 * routes_api are relative to /api/v1.  Every route here must be in
 * docs/openapi.yaml and the other way round, with the same summary, body
 * fields, query parameters and response (tests/e2e/test_openapi.py reads
 * this table through `rtrw-api --schema`); the role column is the role
 * matrix of API.md.
 *
 * The last two columns say what a route answers (lib/router.h): the row
 * type of the object it answers, or the list spec of a list route (its
 * query parameters and item row type).  Routes whose answer is no one
 * row type carry R_HAND and are documented by hand; R_EMPTY answers 204.
 */
#include "routes.h"

#include <stddef.h>

#include "mailer.h"
#include "store/alert.h"
#include "store/audit.h"
#include "store/backup.h"
#include "store/boost.h"
#include "store/customer.h"
#include "store/device.h"
#include "store/inventory.h"
#include "store/mail.h"
#include "store/payment.h"
#include "store/plan.h"
#include "store/platform_alert.h"
#include "store/provision.h"
#include "store/report.h"
#include "store/router.h"
#include "store/tenant.h"
#include "store/ticket.h"
#include "store/usage.h"
#include "store/user.h"

#define B  R_BODY
#define BP (R_BODY | R_PARTIAL)
#define BE (R_BODY | R_EMPTY)
#define BH (R_BODY | R_HAND)
#define E  R_EMPTY
#define H  R_HAND
#define F  R_FILE

/* clang-format off */
const struct route routes_api[] = {
	/* Tenants and identity. */
	{ HTTP_POST,   "/tenants/register",     ROLE_PUBLIC,   tenants_register,   tenant_register_fields, BH, "Register a tenant and its first admin", NULL, NULL },
	{ HTTP_POST,   "/auth/login",           ROLE_PUBLIC,   auth_login,         auth_login_fields,      BH, "Log in", NULL, NULL },
	{ HTTP_POST,   "/auth/refresh",         ROLE_PUBLIC,   auth_refresh,       auth_refresh_fields,    BH, "Rotate a refresh token", NULL, NULL },
	{ HTTP_POST,   "/auth/logout",          ROLE_PUBLIC,   auth_logout,        auth_refresh_fields,    BE, "Revoke a refresh token", NULL, NULL },
	{ HTTP_GET,    "/auth/me",              ROLE_VIEWER,   auth_me,            NULL,                   R_PLATFORM_TOO | H, "The caller, role and tenant", NULL, NULL },
	{ HTTP_GET,    "/tenant",               ROLE_VIEWER,   tenants_get_own,    NULL,                   0,  "The caller's tenant", &tenant_row, NULL },
	{ HTTP_PATCH,  "/tenant",               ROLE_ADMIN,    tenants_update_own, tenant_update_fields,   BP, "Change tenant settings", &tenant_row, NULL },
	{ HTTP_GET,    "/users",                ROLE_ADMIN,    users_list,         NULL,                   0,  "List users", NULL, &user_list_spec },
	{ HTTP_POST,   "/users",                ROLE_ADMIN,    users_create,       user_create_fields,     B,  "Create a user", &user_row, NULL },
	{ HTTP_GET,    "/users/:id",            ROLE_ADMIN,    users_get,          NULL,                   0,  "Get a user", &user_row, NULL },
	{ HTTP_PATCH,  "/users/:id",            ROLE_ADMIN,    users_update,       user_update_fields,     BP, "Change a user", &user_row, NULL },
	{ HTTP_DELETE, "/users/:id",            ROLE_ADMIN,    users_delete,       NULL,                   E,  "Deactivate a user", NULL, NULL },
	{ HTTP_GET,    "/audit-logs",           ROLE_ADMIN,    audit_logs_list,    NULL,                   0,  "List audit entries", NULL, &audit_log_list_spec },
	{ HTTP_GET,    "/audit-logs/:id",       ROLE_ADMIN,    audit_logs_get,     NULL,                   0,  "Get an audit entry", &audit_log_row, NULL },

	/* Platform administration. */
	{ HTTP_GET,    "/platform/tenants",     ROLE_PLATFORM, platform_tenants_list,   NULL, R_LIST, "List tenants", &tenant_summary_row, NULL },
	{ HTTP_GET,    "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_get,    NULL, 0,      "Get a tenant", &tenant_summary_row, NULL },
	{ HTTP_DELETE, "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_delete, NULL, E,      "Delete a tenant and all its data", NULL, NULL },
	{ HTTP_GET,    "/platform/backups",                 ROLE_PLATFORM, backups_list,                NULL, 0, "List backups", NULL, &backup_list_spec },
	{ HTTP_POST,   "/platform/backups",                 ROLE_PLATFORM, backups_create,              NULL, 0, "Queue a backup", &backup_detail_row, NULL },
	{ HTTP_GET,    "/platform/backups/:id",             ROLE_PLATFORM, backups_get,                 NULL, 0, "Get a backup", &backup_detail_row, NULL },
	{ HTTP_POST,   "/platform/backups/:id/verify",      ROLE_PLATFORM, backups_verify,              NULL, 0, "Queue a verification of a backup", &backup_detail_row, NULL },
	{ HTTP_GET,    "/platform/alerts",                  ROLE_PLATFORM, platform_alerts_list,        NULL, 0, "List platform alerts", NULL, &platform_alert_list_spec },
	{ HTTP_GET,    "/platform/alerts/:id",              ROLE_PLATFORM, platform_alerts_get,         NULL, 0, "Get a platform alert", &platform_alert_row, NULL },
	{ HTTP_POST,   "/platform/alerts/:id/acknowledge",  ROLE_PLATFORM, platform_alerts_acknowledge, NULL, 0, "Acknowledge a platform alert", &platform_alert_row, NULL },

	/* Service plans, customers, payments, dashboard. */
	{ HTTP_GET,    "/service-plans",                   ROLE_VIEWER,   service_plans_list,          NULL,                  0,  "List service plans", NULL, &plan_list_spec },
	{ HTTP_POST,   "/service-plans",                   ROLE_OPERATOR, service_plans_create,        plan_fields,           B,  "Create a service plan", &plan_row, NULL },
	{ HTTP_GET,    "/service-plans/:id",               ROLE_VIEWER,   service_plans_get,           NULL,                  0,  "Get a service plan", &plan_row, NULL },
	{ HTTP_PATCH,  "/service-plans/:id",               ROLE_OPERATOR, service_plans_update,        plan_fields,           BP, "Change a service plan", &plan_row, NULL },
	{ HTTP_DELETE, "/service-plans/:id",               ROLE_ADMIN,    service_plans_delete,        NULL,                  E,  "Delete a service plan", NULL, NULL },
	{ HTTP_GET,    "/service-plans/:id/price-history", ROLE_VIEWER,   service_plans_price_history, NULL,                  0,  "Price history of a plan", NULL, &plan_price_list_spec },
	{ HTTP_GET,    "/customers",                       ROLE_VIEWER,   customers_list,              NULL,                  0,  "List and search customers", NULL, &customer_list_spec },
	{ HTTP_POST,   "/customers",                       ROLE_OPERATOR, customers_create,            customer_fields,       B,  "Create a customer", &customer_row, NULL },
	{ HTTP_GET,    "/customers/stats",                 ROLE_VIEWER,   customers_stats,             NULL,                  H,  "Customer counts by status", NULL, NULL },
	{ HTTP_GET,    "/customers/:id",                   ROLE_VIEWER,   customers_get,               NULL,                  0,  "Get a customer", &customer_row, NULL },
	{ HTTP_PATCH,  "/customers/:id",                   ROLE_OPERATOR, customers_update,            customer_fields,       BP, "Change a customer", &customer_row, NULL },
	{ HTTP_DELETE, "/customers/:id",                   ROLE_ADMIN,    customers_delete,            NULL,                  E,  "Delete a customer (soft)", NULL, NULL },
	{ HTTP_POST,   "/customers/:id/activate",          ROLE_OPERATOR, customers_activate,          NULL,                  B,  "Activate a customer", &customer_row, NULL },
	{ HTTP_POST,   "/customers/:id/suspend",           ROLE_OPERATOR, customers_suspend,           NULL,                  B,  "Suspend a customer", &customer_row, NULL },
	{ HTTP_POST,   "/customers/:id/terminate",         ROLE_OPERATOR, customers_terminate,         NULL,                  B,  "Terminate a customer", &customer_row, NULL },
	{ HTTP_GET,    "/payments",                        ROLE_VIEWER,   payments_list,               NULL,                  0,  "List payments", NULL, &payment_list_spec },
	{ HTTP_POST,   "/payments",                        ROLE_OPERATOR, payments_create,             payment_create_fields, B,  "Record a payment", &payment_row, NULL },
	{ HTTP_GET,    "/payments/:id",                    ROLE_VIEWER,   payments_get,                NULL,                  0,  "Get a payment", &payment_row, NULL },
	{ HTTP_PATCH,  "/payments/:id",                    ROLE_OPERATOR, payments_update,             payment_update_fields, BP, "Change a payment", &payment_row, NULL },
	{ HTTP_GET,    "/dashboard/stats",                 ROLE_VIEWER,   dashboard_stats,             NULL,                  H,  "Dashboard figures", NULL, NULL },

	/* Tickets, inventory, devices, alerts. */
	{ HTTP_GET,    "/tickets",                 ROLE_VIEWER,     tickets_list,             NULL,                    0,  "List tickets", NULL, &ticket_list_spec },
	{ HTTP_POST,   "/tickets",                 ROLE_TECHNICIAN, tickets_create,           ticket_create_fields,    B,  "Open a ticket", &ticket_row, NULL },
	{ HTTP_GET,    "/tickets/:id",             ROLE_VIEWER,     tickets_get,              NULL,                    0,  "Get a ticket", &ticket_row, NULL },
	{ HTTP_PATCH,  "/tickets/:id",             ROLE_TECHNICIAN, tickets_update,           ticket_update_fields,    BP, "Change a ticket, assign it or move its status", &ticket_row, NULL },
	{ HTTP_GET,    "/tickets/:id/comments",    ROLE_VIEWER,     tickets_comments_list,    NULL,                    0,  "List a ticket's comments", NULL, &ticket_comment_list_spec },
	{ HTTP_POST,   "/tickets/:id/comments",    ROLE_TECHNICIAN, tickets_comments_create,  ticket_comment_fields,   B,  "Comment on a ticket", &ticket_comment_row, NULL },
	{ HTTP_GET,    "/inventory",               ROLE_VIEWER,     inventory_list,           NULL,                    0,  "List inventory items", NULL, &inventory_list_spec },
	{ HTTP_POST,   "/inventory",               ROLE_TECHNICIAN, inventory_create,         inventory_create_fields, B,  "Add an inventory item", &inventory_row, NULL },
	{ HTTP_GET,    "/inventory/:id",           ROLE_VIEWER,     inventory_get,            NULL,                    0,  "Get an inventory item", &inventory_row, NULL },
	{ HTTP_PATCH,  "/inventory/:id",           ROLE_TECHNICIAN, inventory_update,         inventory_update_fields, BP, "Change an inventory item", &inventory_row, NULL },
	{ HTTP_DELETE, "/inventory/:id",           ROLE_ADMIN,      inventory_delete,         NULL,                    E,  "Delete an inventory item (soft)", NULL, NULL },
	{ HTTP_POST,   "/inventory/:id/adjust",    ROLE_TECHNICIAN, inventory_adjust,         inventory_adjust_fields, B,  "Move stock in or out", &inventory_row, NULL },
	{ HTTP_GET,    "/inventory/:id/movements", ROLE_VIEWER,     inventory_movements_list, NULL,                    0,  "List an item's stock movements", NULL, &inventory_movement_list_spec },
	{ HTTP_GET,    "/devices",                 ROLE_VIEWER,     devices_list,             NULL,                    0,  "List network devices", NULL, &device_list_spec },
	{ HTTP_POST,   "/devices",                 ROLE_TECHNICIAN, devices_create,           device_create_fields,    B,  "Add a network device", &device_row, NULL },
	{ HTTP_GET,    "/devices/:id",             ROLE_VIEWER,     devices_get,              NULL,                    0,  "Get a network device", &device_row, NULL },
	{ HTTP_PATCH,  "/devices/:id",             ROLE_TECHNICIAN, devices_update,           device_update_fields,    BP, "Change a network device", &device_row, NULL },
	{ HTTP_DELETE, "/devices/:id",             ROLE_ADMIN,      devices_delete,           NULL,                    E,  "Delete a network device", NULL, NULL },
	{ HTTP_POST,   "/devices/:id/check",       ROLE_TECHNICIAN, devices_check,            NULL,                    H,  "Check a device's reachability now", &device_row, NULL },
	{ HTTP_GET,    "/alerts",                  ROLE_VIEWER,     alerts_list,              NULL,                    0,  "List alerts", NULL, &alert_list_spec },
	{ HTTP_GET,    "/alerts/:id",              ROLE_VIEWER,     alerts_get,               NULL,                    0,  "Get an alert", &alert_row, NULL },
	{ HTTP_POST,   "/alerts/:id/acknowledge",  ROLE_TECHNICIAN, alerts_acknowledge,       NULL,                    0,  "Acknowledge an alert", &alert_row, NULL },

	/* MikroTik routers and provisioning. */
	{ HTTP_GET,    "/routers",                     ROLE_VIEWER,   routers_list,            NULL,                 0,  "List MikroTik routers", NULL, &router_list_spec },
	{ HTTP_POST,   "/routers",                     ROLE_OPERATOR, routers_create,          router_fields,        B,  "Add a MikroTik router (logs in first)", &router_row, NULL },
	{ HTTP_GET,    "/routers/:id",                 ROLE_VIEWER,   routers_get,             NULL,                 0,  "Get a MikroTik router", &router_row, NULL },
	{ HTTP_PATCH,  "/routers/:id",                 ROLE_OPERATOR, routers_update,          router_fields,        BP, "Change a MikroTik router (logs in first when the connection changes)", &router_row, NULL },
	{ HTTP_DELETE, "/routers/:id",                 ROLE_ADMIN,    routers_delete,          NULL,                 E,  "Delete a MikroTik router", NULL, NULL },
	{ HTTP_POST,   "/routers/:id/test",            ROLE_OPERATOR, routers_test,            NULL,                 B,  "Log into a router now and record its status", &router_row, NULL },
	{ HTTP_POST,   "/routers/:id/sync",            ROLE_OPERATOR, routers_sync,            NULL,                 BH, "Compare a router with the database and repair drift", NULL, &router_sync_query },
	{ HTTP_POST,   "/routers/:id/import",          ROLE_OPERATOR, routers_import,          router_import_fields, BH, "Import a router's PPPoE secrets as customers", NULL, NULL },
	{ HTTP_GET,    "/provisioning-jobs",           ROLE_VIEWER,   provisioning_jobs_list,  NULL,                 0,  "List provisioning jobs", NULL, &provisioning_job_list_spec },
	{ HTTP_GET,    "/provisioning-jobs/:id",       ROLE_VIEWER,   provisioning_jobs_get,   NULL,                 0,  "Get a provisioning job", &provision_job_row, NULL },
	{ HTTP_POST,   "/provisioning-jobs/:id/retry", ROLE_OPERATOR, provisioning_jobs_retry, NULL,                 B,  "Retry a failed provisioning job", &provision_job_row, NULL },

	/* Speed boosts. */
	{ HTTP_GET,    "/speed-boosts",             ROLE_VIEWER,   speed_boosts_list,    NULL,                      0, "List speed boosts", NULL, &speed_boost_list_spec },
	{ HTTP_POST,   "/speed-boosts",             ROLE_OPERATOR, speed_boosts_create,  speed_boost_fields,        B, "Request a speed boost", &boost_row, NULL },
	{ HTTP_GET,    "/speed-boosts/:id",         ROLE_VIEWER,   speed_boosts_get,     NULL,                      0, "Get a speed boost", &boost_row, NULL },
	{ HTTP_POST,   "/speed-boosts/:id/approve", ROLE_OPERATOR, speed_boosts_approve, NULL,                      B, "Approve a speed boost", &boost_row, NULL },
	{ HTTP_POST,   "/speed-boosts/:id/reject",  ROLE_OPERATOR, speed_boosts_reject,  speed_boost_reject_fields, B, "Reject a speed boost", &boost_row, NULL },
	{ HTTP_POST,   "/speed-boosts/:id/cancel",  ROLE_OPERATOR, speed_boosts_cancel,  NULL,                      B, "Cancel a speed boost", &boost_row, NULL },

	/* Exports: file downloads. */
	{ HTTP_GET,    "/exports/customers",       ROLE_OPERATOR,   exports_customers,        NULL,                    F,  "Export customers as CSV or XLSX", NULL, &exports_customers_query },
	{ HTTP_GET,    "/exports/payments",        ROLE_OPERATOR,   exports_payments,         NULL,                    F,  "Export payments as CSV or XLSX", NULL, &exports_payments_query },

	/* Email: the tenant's SMTP server, templates and notification queue. */
	{ HTTP_GET,    "/settings/smtp",           ROLE_ADMIN,      email_smtp_get,           NULL,                    0,  "The tenant's own SMTP server", &mail_smtp_row, NULL },
	{ HTTP_PUT,    "/settings/smtp",           ROLE_ADMIN,      email_smtp_put,           email_smtp_fields,       B,  "Set the tenant's own SMTP server", &mail_smtp_row, NULL },
	{ HTTP_DELETE, "/settings/smtp",           ROLE_ADMIN,      email_smtp_delete,        NULL,                    E,  "Go back to the platform's SMTP server", NULL, NULL },
	{ HTTP_GET,    "/email-templates",         ROLE_OPERATOR,   email_templates_list,     NULL,                    R_LIST, "List email templates and their variables", &mailer_template_item_row, NULL },
	{ HTTP_GET,    "/email-templates/{key}",   ROLE_OPERATOR,   email_templates_get,      NULL,                    0,  "Get an email template", &mailer_template_item_row, NULL },
	{ HTTP_PUT,    "/email-templates/{key}",   ROLE_ADMIN,      email_templates_put,      email_template_fields,   B,  "Change an email template", &mailer_template_item_row, NULL },
	{ HTTP_GET,    "/notifications",           ROLE_OPERATOR,   email_notifications_list, NULL,                    0,  "List queued, sent and failed emails", NULL, &email_notification_list_spec },
	{ HTTP_GET,    "/notifications/:id",       ROLE_OPERATOR,   email_notifications_get,  NULL,                    0,  "Get a queued, sent or failed email", &mail_notification_row, NULL },

	/* Usage monitoring. */
	{ HTTP_GET,    "/customers/:id/usage",          ROLE_VIEWER, monitoring_usage,           NULL,                       H,  "A customer's usage over a period", NULL, &monitoring_usage_query },
	{ HTTP_GET,    "/customers/:id/usage/realtime", ROLE_VIEWER, monitoring_realtime,        NULL,                       H,  "A customer's current rates, read from the router", NULL, NULL },
	{ HTTP_GET,    "/monitoring/overview",          ROLE_VIEWER, monitoring_overview,        NULL,                       H,  "Network capacity, use and sessions online", NULL, NULL },
	{ HTTP_GET,    "/monitoring/settings",          ROLE_VIEWER, monitoring_settings_get,    NULL,                       0,  "High-usage alert thresholds", &usage_settings_row, NULL },
	{ HTTP_PATCH,  "/monitoring/settings",          ROLE_ADMIN,  monitoring_settings_update, monitoring_settings_fields, BP, "Change the high-usage alert thresholds", &usage_settings_row, NULL },

	/* Reports: built by rtrw-reports; files through the API or an emailed link. */
	{ HTTP_GET,    "/reports",                 ROLE_OPERATOR,   reports_list,             NULL,                    0,  "List reports", NULL, &report_list_spec },
	{ HTTP_POST,   "/reports",                 ROLE_OPERATOR,   reports_create,           report_create_fields,    B,  "Queue a report", &report_row, NULL },
	{ HTTP_GET,    "/reports/:id",             ROLE_OPERATOR,   reports_get,              NULL,                    0,  "Get a report's status", &report_row, NULL },
	{ HTTP_GET,    "/reports/:id/download",    ROLE_OPERATOR,   reports_download,         NULL,                    F,  "Download a finished report", NULL, NULL },
	{ HTTP_GET,    "/report-files",            ROLE_PUBLIC,     report_files_get,         NULL,                    F,  "Download a report through its emailed link", NULL, &report_files_query },
	{ HTTP_GET,    "/report-schedules",        ROLE_OPERATOR,   report_schedules_list,    NULL,                    0,  "List report schedules", NULL, &report_schedule_list_spec },
	{ HTTP_POST,   "/report-schedules",        ROLE_OPERATOR,   report_schedules_create,  report_schedule_fields,  B,  "Create a report schedule", &report_schedule_row, NULL },
	{ HTTP_GET,    "/report-schedules/:id",    ROLE_OPERATOR,   report_schedules_get,     NULL,                    0,  "Get a report schedule", &report_schedule_row, NULL },
	{ HTTP_PATCH,  "/report-schedules/:id",    ROLE_OPERATOR,   report_schedules_update,  report_schedule_fields,  BP, "Change a report schedule", &report_schedule_row, NULL },
	{ HTTP_DELETE, "/report-schedules/:id",    ROLE_ADMIN,      report_schedules_delete,  NULL,                    E,  "Delete a report schedule", NULL, NULL },

	{ 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL }
};

const struct route routes_root[] = {
	{ HTTP_GET, "/health", ROLE_PUBLIC, health_get, NULL, R_NO_RATELIMIT | H, "Liveness and dependency check", NULL, NULL },
	{ 0, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL }
};
/* clang-format on */
