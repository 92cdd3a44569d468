/*
 * The typed, tenant-scoped data access of each resource.  Every module
 * lib/store/<res>.c keeps its SQL in a table of struct stmt_def indexed
 * by the enum below and lists it in lib/store/registry.c, so that the
 * start-up check sees all of it.  Handlers run them with
 * tdb_query(r->tdb, &store_user_stmts[USER_GET], ...).
 */
#ifndef RTRW_STORE_H
#define RTRW_STORE_H

#include "db.h"

/* Every statement table, NULL-terminated (lib/store/registry.c). */
extern const struct stmt_def *const store_tables[];

/* lib/store/health.c: the global statements of GET /health. */
extern const struct stmt_def store_health_stmts[];

/* lib/store/tenant.c */
enum {
	TENANT_BY_SLUG,
	TENANT_INSERT,
	TENANT_CHAIN_INSERT,
	TENANT_GET_OWN,
	TENANT_UPDATE_OWN,
	TENANT_GET,
	TENANT_LIST,
	TENANT_COUNT,
	TENANT_DELETE,
	TENANT__MAX
};
extern const struct stmt_def store_tenant_stmts[];

/* lib/store/user.c */
enum {
	USER_GET,
	USER_GET_LOCKED,
	USER_PRINCIPAL,
	USER_BY_EMAIL,
	USER_LIST,
	USER_COUNT,
	USER_INSERT,
	USER_UPDATE,
	USER_LOGIN_DONE,
	USER_ACTIVE_ADMINS,
	USER__MAX
};
extern const struct stmt_def store_user_stmts[];

/* lib/store/token.c */
enum {
	TOKEN_BY_HASH,
	TOKEN_INSERT,
	TOKEN_ROTATE,
	TOKEN_REVOKE,
	TOKEN_REVOKE_FAMILY,
	TOKEN_REVOKE_USER,
	TOKEN__MAX
};
extern const struct stmt_def store_token_stmts[];

/* lib/store/platform.c */
enum {
	PLATFORM_BY_EMAIL,
	PLATFORM_GET,
	PLATFORM_INSERT,
	PLATFORM_LOGIN_DONE,
	PLATFORM__MAX
};
extern const struct stmt_def store_platform_stmts[];

/* lib/store/alert.c */
enum { ALERT_RAISE, ALERT__MAX };
extern const struct stmt_def store_alert_stmts[];

/* lib/store/audit.c */
enum {
	AUDIT_LIST,
	AUDIT_COUNT,
	AUDIT_GET,
	AUDIT_CHAIN_PAGE,
	AUDIT_ARCHIVE_PAGE,
	AUDIT_ARCHIVE_DELETE,
	AUDIT__MAX
};
extern const struct stmt_def store_audit_stmts[];

/* ---- Tickets, inventory, devices, alerts ---------- */

/* lib/store/ticket.c: tickets and their comments. */
enum {
	TICKET_GET,
	TICKET_GET_LOCKED,
	TICKET_LIST,
	TICKET_COUNT,
	TICKET_INSERT,
	TICKET_UPDATE,
	TICKET_CUSTOMER_OK,
	TICKET_ASSIGNEE_OK,
	TICKET_COMMENT_INSERT,
	TICKET_COMMENT_GET,
	TICKET_COMMENT_LIST,
	TICKET_COMMENT_COUNT,
	TICKET__MAX
};
extern const struct stmt_def store_ticket_stmts[];

/* lib/store/inventory.c: stock items and their movements. */
enum {
	INVENTORY_GET,
	INVENTORY_GET_LOCKED,
	INVENTORY_LIST,
	INVENTORY_COUNT,
	INVENTORY_INSERT,
	INVENTORY_UPDATE,
	INVENTORY_DELETE,
	INVENTORY_MOVE_INSERT,
	INVENTORY_MOVE_LIST,
	INVENTORY_MOVE_COUNT,
	INVENTORY__MAX
};
extern const struct stmt_def store_inventory_stmts[];

/* lib/store/device.c: network devices (see also store_device_*()). */
enum {
	DEVICE_GET,
	DEVICE_GET_LOCKED,
	DEVICE_LIST,
	DEVICE_COUNT,
	DEVICE_INSERT,
	DEVICE_UPDATE,
	DEVICE_SET_SECRETS,
	DEVICE_SET_STATUS,
	DEVICE_DELETE,
	DEVICE_IN_USE,
	DEVICE_UPLINK_OF,
	DEVICE_LIVE,
	DEVICE__MAX
};
extern const struct stmt_def store_device_stmts[];

/* lib/store/device.c: the global statement of rtrw-monitor devices. */
enum { DEVICE_ALL_LIVE, DEVICE_GLOBAL__MAX };
extern const struct stmt_def store_device_global_stmts[];

/*
 * lib/store/alert.c: reading and changing alerts (raising is
 * store_alert_stmts[ALERT_RAISE] above, through alert_raise()).
 */
enum {
	ALERT_OP_GET,
	ALERT_OP_GET_LOCKED,
	ALERT_OP_LIST,
	ALERT_OP_COUNT,
	ALERT_OP_ACK,
	ALERT_OP_RESOLVE_SUBJECT,
	ALERT_OP_OPEN_ID,
	ALERT_OP__MAX
};
extern const struct stmt_def store_alert_ops_stmts[];

struct tdb;
struct config;

/* What a device check found (lib/probe.h decides; see fcgi/devices.c). */
enum device_state { DEVICE_UNKNOWN, DEVICE_ONLINE, DEVICE_OFFLINE };

/*
 * Records the result of a reachability check of device id in its own
 * transaction: sets status and last_checked_at, and last_seen when it
 * answered.  A change of status also writes a device:status event; going
 * offline raises the device_offline alert and queues the device_offline
 * notification to the tenant's admins, coming back online resolves that
 * alert.  user_id is the caller (0 for the monitor job); the check is
 * audited as "check" when user_id is set, and a job's check only when
 * the status changed.  Stores the row after the change in *after (may be
 * NULL).  Returns 1 done, 0 when the device does not exist (or was
 * deleted meanwhile), -1 on error (rolled back).
 */
int store_device_record_check(struct tdb *t, int64_t id, enum device_state st,
                              int64_t user_id, const char *ip,
                              const char *user_agent, const cJSON *probe,
                              struct dbres *after);

/* ---- Plans, customers, payments, billing ---------- */

/* lib/store/plan.c: service plans and their price history. */
enum {
	PLAN_GET,
	PLAN_GET_LOCKED,
	PLAN_GET_SHARED,
	PLAN_LIST,
	PLAN_COUNT,
	PLAN_INSERT,
	PLAN_UPDATE,
	PLAN_DELETE,
	PLAN_IN_USE,
	PLAN_HISTORY_INSERT,
	PLAN_HISTORY_LIST,
	PLAN_HISTORY_COUNT,
	PLAN__MAX
};
extern const struct stmt_def store_plan_stmts[];

struct tdb;

/*
 * Creates the default service plans of a new tenant (run by
 * seed_tenant() in the registering transaction); 0 or -1.
 */
int store_plan_seed(struct tdb *t);

/* lib/store/customer.c: customers and the provisioning jobs they queue. */
enum {
	CUSTOMER_GET,
	CUSTOMER_GET_LOCKED,
	CUSTOMER_LIST,
	CUSTOMER_COUNT,
	CUSTOMER_COUNT_ALL,
	CUSTOMER_SEARCH,
	CUSTOMER_SEARCH_COUNT,
	CUSTOMER_INSERT,
	CUSTOMER_SET_PASSWORD,
	CUSTOMER_UPDATE,
	CUSTOMER_SET_STATUS,
	CUSTOMER_DELETE,
	CUSTOMER_STATUS_COUNTS,
	CUSTOMER_JOB_INSERT,
	CUSTOMER__MAX
};
extern const struct stmt_def store_customer_stmts[];

/* lib/store/payment.c: payments, and the billing jobs' statements. */
enum {
	PAYMENT_GET,
	PAYMENT_GET_LOCKED,
	PAYMENT_LIST_DUE,
	PAYMENT_COUNT_DUE,
	PAYMENT_LIST_PAID,
	PAYMENT_COUNT_PAID,
	PAYMENT_INSERT,
	PAYMENT_UPDATE,
	PAYMENT_INVOICE_RUN,
	PAYMENT_OVERDUE_PICK,
	PAYMENT_OVERDUE_MARK,
	PAYMENT__MAX
};
extern const struct stmt_def store_payment_stmts[];

/* lib/store/payment.c: the global statement listing tenants for jobs. */
enum { BILLING_TENANTS, BILLING_GLOBAL__MAX };
extern const struct stmt_def store_billing_global_stmts[];

/* lib/store/dashboard.c: the figures of GET /dashboard/stats. */
enum { DASHBOARD_REVENUE, DASHBOARD_TICKETS, DASHBOARD__MAX };
extern const struct stmt_def store_dashboard_stmts[];

/* ---- Backups ---------- */

/* lib/store/backup.c: the backups table and binary log facts. */
enum {
	BACKUP_INSERT,
	BACKUP_INSERT_FAILED,
	BACKUP_NEXT_QUEUED,
	BACKUP_CLAIM,
	BACKUP_COMPLETE,
	BACKUP_FAIL,
	BACKUP_STALE,
	BACKUP_GET,
	BACKUP_LIST,
	BACKUP_COUNT,
	BACKUP_VERIFIED,
	BACKUP_PRUNED,
	BACKUP_SCHEMA_VERSION,
	BACKUP_TABLES,
	BACKUP_SERVER,
	BACKUP_BINLOGS,
	BACKUP_FLUSH_BINLOGS,
	BACKUP__MAX
};
extern const struct stmt_def store_backup_stmts[];

#endif
