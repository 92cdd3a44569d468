/*
 * The handlers of every resource and the two route tables.  Each
 * fcgi/<res>.c exports <res>_*() handlers, its field tables and the list
 * specs of its list routes (for the route table's list column) only.
 */
#ifndef RTRW_ROUTES_H
#define RTRW_ROUTES_H

#include "fields.h"
#include "router.h"

struct list_spec;

/* Routes under /api/v1 and routes from the root (/health). */
extern const struct route routes_api[];
extern const struct route routes_root[];

/* fcgi/health.c */
int health_get(struct req *r);

/* fcgi/auth.c */
extern const struct field auth_login_fields[];
extern const struct field auth_refresh_fields[];
int auth_login(struct req *r);
int auth_refresh(struct req *r);
int auth_logout(struct req *r);
int auth_me(struct req *r);

/* fcgi/tenants.c */
extern const struct field tenant_register_fields[];
extern const struct field tenant_update_fields[];
int tenants_register(struct req *r);
int tenants_get_own(struct req *r);
int tenants_update_own(struct req *r);

/* fcgi/users.c */
extern const struct field user_create_fields[];
extern const struct field user_update_fields[];
extern const struct list_spec user_list_spec;
int users_list(struct req *r);
int users_get(struct req *r);
int users_create(struct req *r);
int users_update(struct req *r);
int users_delete(struct req *r);

/* fcgi/platform.c */
int platform_tenants_list(struct req *r);
int platform_tenants_get(struct req *r);
int platform_tenants_delete(struct req *r);

/* fcgi/backups.c */
extern const struct list_spec backup_list_spec;
int backups_list(struct req *r);
int backups_get(struct req *r);
int backups_create(struct req *r);
int backups_verify(struct req *r);

/* fcgi/platform_alerts.c */
extern const struct list_spec platform_alert_list_spec;
int platform_alerts_list(struct req *r);
int platform_alerts_get(struct req *r);
int platform_alerts_acknowledge(struct req *r);

/* fcgi/audit_logs.c */
extern const struct list_spec audit_log_list_spec;
int audit_logs_list(struct req *r);
int audit_logs_get(struct req *r);

/* ---- Plans, customers, payments, dashboard ---- */

/* fcgi/service_plans.c */
extern const struct field plan_fields[];
extern const struct list_spec plan_list_spec;
extern const struct list_spec plan_price_list_spec;
int service_plans_list(struct req *r);
int service_plans_get(struct req *r);
int service_plans_create(struct req *r);
int service_plans_update(struct req *r);
int service_plans_delete(struct req *r);
int service_plans_price_history(struct req *r);

/* fcgi/customers.c */
extern const struct field customer_fields[];
extern const struct list_spec customer_list_spec;
int customers_list(struct req *r);
int customers_get(struct req *r);
int customers_stats(struct req *r);
int customers_create(struct req *r);
int customers_update(struct req *r);
int customers_delete(struct req *r);
int customers_activate(struct req *r);
int customers_suspend(struct req *r);
int customers_terminate(struct req *r);

/* fcgi/payments.c */
extern const struct field payment_create_fields[];
extern const struct field payment_update_fields[];
extern const struct list_spec payment_list_spec;
int payments_list(struct req *r);
int payments_get(struct req *r);
int payments_create(struct req *r);
int payments_update(struct req *r);

/* fcgi/dashboard.c */
int dashboard_stats(struct req *r);

/* ---- Tickets, inventory, devices, alerts ---------- */

/* fcgi/tickets.c */
extern const struct field ticket_create_fields[];
extern const struct field ticket_update_fields[];
extern const struct field ticket_comment_fields[];
extern const struct list_spec ticket_list_spec;
extern const struct list_spec ticket_comment_list_spec;
int tickets_list(struct req *r);
int tickets_get(struct req *r);
int tickets_create(struct req *r);
int tickets_update(struct req *r);
int tickets_comments_list(struct req *r);
int tickets_comments_create(struct req *r);

/* fcgi/inventory.c */
extern const struct field inventory_create_fields[];
extern const struct field inventory_update_fields[];
extern const struct field inventory_adjust_fields[];
extern const struct list_spec inventory_list_spec;
extern const struct list_spec inventory_movement_list_spec;
int inventory_list(struct req *r);
int inventory_get(struct req *r);
int inventory_create(struct req *r);
int inventory_update(struct req *r);
int inventory_adjust(struct req *r);
int inventory_delete(struct req *r);
int inventory_movements_list(struct req *r);

/* fcgi/devices.c */
extern const struct field device_create_fields[];
extern const struct field device_update_fields[];
extern const struct list_spec device_list_spec;
int devices_list(struct req *r);
int devices_get(struct req *r);
int devices_create(struct req *r);
int devices_update(struct req *r);
int devices_delete(struct req *r);
int devices_check(struct req *r);

/* fcgi/alerts.c */
extern const struct list_spec alert_list_spec;
int alerts_list(struct req *r);
int alerts_get(struct req *r);
int alerts_acknowledge(struct req *r);

/* ---- MikroTik routers and provisioning ---------- */

/* fcgi/routers.c */
extern const struct field router_fields[];
extern const struct field router_import_fields[];
extern const struct list_spec router_list_spec;
extern const struct list_spec router_sync_query;
int routers_list(struct req *r);
int routers_get(struct req *r);
int routers_create(struct req *r);
int routers_update(struct req *r);
int routers_delete(struct req *r);
int routers_test(struct req *r);
int routers_sync(struct req *r);
int routers_import(struct req *r);

/* fcgi/provisioning_jobs.c */
extern const struct list_spec provisioning_job_list_spec;
int provisioning_jobs_list(struct req *r);
int provisioning_jobs_get(struct req *r);
int provisioning_jobs_retry(struct req *r);

/* ---- Speed boosts ---------------------------------- */

/* fcgi/speed_boosts.c */
extern const struct field speed_boost_fields[];
extern const struct field speed_boost_reject_fields[];
extern const struct list_spec speed_boost_list_spec;
int speed_boosts_list(struct req *r);
int speed_boosts_get(struct req *r);
int speed_boosts_create(struct req *r);
int speed_boosts_approve(struct req *r);
int speed_boosts_reject(struct req *r);
int speed_boosts_cancel(struct req *r);

/* fcgi/exports.c */
extern const struct list_spec exports_customers_query;
extern const struct list_spec exports_payments_query;
int exports_customers(struct req *r);
int exports_payments(struct req *r);

/* fcgi/email.c */
extern const struct field email_smtp_fields[];
extern const struct field email_template_fields[];
extern const struct list_spec email_notification_list_spec;
int email_smtp_get(struct req *r);
int email_smtp_put(struct req *r);
int email_smtp_delete(struct req *r);
int email_templates_list(struct req *r);
int email_templates_get(struct req *r);
int email_templates_put(struct req *r);
int email_notifications_list(struct req *r);
int email_notifications_get(struct req *r);

/* ---- Usage monitoring ------------------------------- */

/* fcgi/monitoring.c */
extern const struct field monitoring_settings_fields[];
extern const struct list_spec monitoring_usage_query;
int monitoring_usage(struct req *r);
int monitoring_realtime(struct req *r);
int monitoring_overview(struct req *r);
int monitoring_settings_get(struct req *r);
int monitoring_settings_update(struct req *r);
/* fcgi/reports.c */
extern const struct field report_create_fields[];
extern const struct field report_schedule_fields[];
extern const struct list_spec report_list_spec;
extern const struct list_spec report_schedule_list_spec;
extern const struct list_spec report_files_query;
int reports_list(struct req *r);
int reports_get(struct req *r);
int reports_create(struct req *r);
int reports_download(struct req *r);
int report_files_get(struct req *r);
int report_schedules_list(struct req *r);
int report_schedules_get(struct req *r);
int report_schedules_create(struct req *r);
int report_schedules_update(struct req *r);
int report_schedules_delete(struct req *r);

#endif
