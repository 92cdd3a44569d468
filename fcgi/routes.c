/*
 * The route table: the only place URL paths appear.  Patterns under
 * routes_api are relative to /api/v1.  Every route here must be in
 * docs/openapi.yaml and the other way round (tests/e2e/test_openapi.py);
 * the role column is the role matrix of API.md.
 */
#include "routes.h"

#include <stddef.h>

#define B  R_BODY
#define BP (R_BODY | R_PARTIAL)

/* clang-format off */
const struct route routes_api[] = {
	/* Tenants and identity. */
	{ HTTP_POST,   "/tenants/register",     ROLE_PUBLIC,   tenants_register,   tenant_register_fields, B,  "Register a tenant and its first admin" },
	{ HTTP_POST,   "/auth/login",           ROLE_PUBLIC,   auth_login,         auth_login_fields,      B,  "Log in" },
	{ HTTP_POST,   "/auth/refresh",         ROLE_PUBLIC,   auth_refresh,       auth_refresh_fields,    B,  "Rotate a refresh token" },
	{ HTTP_POST,   "/auth/logout",          ROLE_PUBLIC,   auth_logout,        auth_refresh_fields,    B,  "Revoke a refresh token" },
	{ HTTP_GET,    "/auth/me",              ROLE_VIEWER,   auth_me,            NULL,                   R_PLATFORM_TOO, "The caller, role and tenant" },
	{ HTTP_GET,    "/tenant",               ROLE_VIEWER,   tenants_get_own,    NULL,                   0,  "The caller's tenant" },
	{ HTTP_PATCH,  "/tenant",               ROLE_ADMIN,    tenants_update_own, tenant_update_fields,   BP, "Change tenant settings" },
	{ HTTP_GET,    "/users",                ROLE_ADMIN,    users_list,         NULL,                   0,  "List users" },
	{ HTTP_POST,   "/users",                ROLE_ADMIN,    users_create,       user_create_fields,     B,  "Create a user" },
	{ HTTP_GET,    "/users/:id",            ROLE_ADMIN,    users_get,          NULL,                   0,  "Get a user" },
	{ HTTP_PATCH,  "/users/:id",            ROLE_ADMIN,    users_update,       user_update_fields,     BP, "Change a user" },
	{ HTTP_DELETE, "/users/:id",            ROLE_ADMIN,    users_delete,       NULL,                   0,  "Deactivate a user" },
	{ HTTP_GET,    "/audit-logs",           ROLE_ADMIN,    audit_logs_list,    NULL,                   0,  "List audit entries" },
	{ HTTP_GET,    "/audit-logs/:id",       ROLE_ADMIN,    audit_logs_get,     NULL,                   0,  "Get an audit entry" },

	/* Platform administration. */
	{ HTTP_GET,    "/platform/tenants",     ROLE_PLATFORM, platform_tenants_list,   NULL, 0, "List tenants" },
	{ HTTP_GET,    "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_get,    NULL, 0, "Get a tenant" },
	{ HTTP_DELETE, "/platform/tenants/:id", ROLE_PLATFORM, platform_tenants_delete, NULL, 0, "Delete a tenant and all its data" },

	/* Service plans, customers, payments, dashboard. */
	{ HTTP_GET,    "/service-plans",                   ROLE_VIEWER,   service_plans_list,          NULL,                  0,  "List service plans" },
	{ HTTP_POST,   "/service-plans",                   ROLE_OPERATOR, service_plans_create,        plan_fields,           B,  "Create a service plan" },
	{ HTTP_GET,    "/service-plans/:id",               ROLE_VIEWER,   service_plans_get,           NULL,                  0,  "Get a service plan" },
	{ HTTP_PATCH,  "/service-plans/:id",               ROLE_OPERATOR, service_plans_update,        plan_fields,           BP, "Change a service plan" },
	{ HTTP_DELETE, "/service-plans/:id",               ROLE_ADMIN,    service_plans_delete,        NULL,                  0,  "Delete a service plan" },
	{ HTTP_GET,    "/service-plans/:id/price-history", ROLE_VIEWER,   service_plans_price_history, NULL,                  0,  "Price history of a plan" },
	{ HTTP_GET,    "/customers",                       ROLE_VIEWER,   customers_list,              NULL,                  0,  "List and search customers" },
	{ HTTP_POST,   "/customers",                       ROLE_OPERATOR, customers_create,            customer_fields,       B,  "Create a customer" },
	{ HTTP_GET,    "/customers/stats",                 ROLE_VIEWER,   customers_stats,             NULL,                  0,  "Customer counts by status" },
	{ HTTP_GET,    "/customers/:id",                   ROLE_VIEWER,   customers_get,               NULL,                  0,  "Get a customer" },
	{ HTTP_PATCH,  "/customers/:id",                   ROLE_OPERATOR, customers_update,            customer_fields,       BP, "Change a customer" },
	{ HTTP_DELETE, "/customers/:id",                   ROLE_ADMIN,    customers_delete,            NULL,                  0,  "Delete a customer (soft)" },
	{ HTTP_POST,   "/customers/:id/activate",          ROLE_OPERATOR, customers_activate,          NULL,                  B,  "Activate a customer" },
	{ HTTP_POST,   "/customers/:id/suspend",           ROLE_OPERATOR, customers_suspend,           NULL,                  B,  "Suspend a customer" },
	{ HTTP_POST,   "/customers/:id/terminate",         ROLE_OPERATOR, customers_terminate,         NULL,                  B,  "Terminate a customer" },
	{ HTTP_GET,    "/payments",                        ROLE_VIEWER,   payments_list,               NULL,                  0,  "List payments" },
	{ HTTP_POST,   "/payments",                        ROLE_OPERATOR, payments_create,             payment_create_fields, B,  "Record a payment" },
	{ HTTP_GET,    "/payments/:id",                    ROLE_VIEWER,   payments_get,                NULL,                  0,  "Get a payment" },
	{ HTTP_PATCH,  "/payments/:id",                    ROLE_OPERATOR, payments_update,             payment_update_fields, BP, "Change a payment" },
	{ HTTP_GET,    "/dashboard/stats",                 ROLE_VIEWER,   dashboard_stats,             NULL,                  0,  "Dashboard figures" },

	/* Tickets, inventory, devices, alerts. */
	{ HTTP_GET,    "/tickets",                ROLE_VIEWER,     tickets_list,             NULL,                    0,  "List tickets" },
	{ HTTP_POST,   "/tickets",                ROLE_TECHNICIAN, tickets_create,           ticket_create_fields,    B,  "Open a ticket" },
	{ HTTP_GET,    "/tickets/:id",            ROLE_VIEWER,     tickets_get,              NULL,                    0,  "Get a ticket" },
	{ HTTP_PATCH,  "/tickets/:id",            ROLE_TECHNICIAN, tickets_update,           ticket_update_fields,    BP, "Change a ticket, assign it or move its status" },
	{ HTTP_GET,    "/tickets/:id/comments",   ROLE_VIEWER,     tickets_comments_list,    NULL,                    0,  "List a ticket's comments" },
	{ HTTP_POST,   "/tickets/:id/comments",   ROLE_TECHNICIAN, tickets_comments_create,  ticket_comment_fields,   B,  "Comment on a ticket" },
	{ HTTP_GET,    "/inventory",              ROLE_VIEWER,     inventory_list,           NULL,                    0,  "List inventory items" },
	{ HTTP_POST,   "/inventory",              ROLE_TECHNICIAN, inventory_create,         inventory_create_fields, B,  "Add an inventory item" },
	{ HTTP_GET,    "/inventory/:id",          ROLE_VIEWER,     inventory_get,            NULL,                    0,  "Get an inventory item" },
	{ HTTP_PATCH,  "/inventory/:id",          ROLE_TECHNICIAN, inventory_update,         inventory_update_fields, BP, "Change an inventory item" },
	{ HTTP_DELETE, "/inventory/:id",          ROLE_ADMIN,      inventory_delete,         NULL,                    0,  "Delete an inventory item (soft)" },
	{ HTTP_POST,   "/inventory/:id/adjust",   ROLE_TECHNICIAN, inventory_adjust,         inventory_adjust_fields, B,  "Move stock in or out" },
	{ HTTP_GET,    "/inventory/:id/movements", ROLE_VIEWER,    inventory_movements_list, NULL,                    0,  "List an item's stock movements" },
	{ HTTP_GET,    "/devices",                ROLE_VIEWER,     devices_list,             NULL,                    0,  "List network devices" },
	{ HTTP_POST,   "/devices",                ROLE_TECHNICIAN, devices_create,           device_create_fields,    B,  "Add a network device" },
	{ HTTP_GET,    "/devices/:id",            ROLE_VIEWER,     devices_get,              NULL,                    0,  "Get a network device" },
	{ HTTP_PATCH,  "/devices/:id",            ROLE_TECHNICIAN, devices_update,           device_update_fields,    BP, "Change a network device" },
	{ HTTP_DELETE, "/devices/:id",            ROLE_ADMIN,      devices_delete,           NULL,                    0,  "Delete a network device" },
	{ HTTP_POST,   "/devices/:id/check",      ROLE_TECHNICIAN, devices_check,            NULL,                    0,  "Check a device's reachability now" },
	{ HTTP_GET,    "/alerts",                 ROLE_VIEWER,     alerts_list,              NULL,                    0,  "List alerts" },
	{ HTTP_GET,    "/alerts/:id",             ROLE_VIEWER,     alerts_get,               NULL,                    0,  "Get an alert" },
	{ HTTP_POST,   "/alerts/:id/acknowledge", ROLE_TECHNICIAN, alerts_acknowledge,       NULL,                    0,  "Acknowledge an alert" },

	/* Usage monitoring. */
	{ HTTP_GET,    "/customers/:id/usage",          ROLE_VIEWER, monitoring_usage,           NULL,                       0,  "A customer's usage over a period" },
	{ HTTP_GET,    "/customers/:id/usage/realtime", ROLE_VIEWER, monitoring_realtime,        NULL,                       0,  "A customer's current rates, read from the router" },
	{ HTTP_GET,    "/monitoring/overview",          ROLE_VIEWER, monitoring_overview,        NULL,                       0,  "Network capacity, use and sessions online" },
	{ HTTP_GET,    "/monitoring/settings",          ROLE_VIEWER, monitoring_settings_get,    NULL,                       0,  "High-usage alert thresholds" },
	{ HTTP_PATCH,  "/monitoring/settings",          ROLE_ADMIN,  monitoring_settings_update, monitoring_settings_fields, BP, "Change the high-usage alert thresholds" },

	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};

const struct route routes_root[] = {
	{ HTTP_GET, "/health", ROLE_PUBLIC, health_get, NULL, R_NO_RATELIMIT, "Liveness and dependency check" },
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};
/* clang-format on */
