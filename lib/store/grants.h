/*
 * Table privileges of the application's database accounts (MariaDB).
 *
 * The application account gets SELECT, INSERT, UPDATE, DELETE on every
 * table of the schema except the audit logs (audit_logs,
 * platform_audit_logs), where it may only SELECT and INSERT, and
 * schema_migrations, which it may only read.  The
 * maintenance account (the audit archive job) may read and delete audit
 * rows; the database's triggers still refuse rows younger than 365 days.
 * The backup account (rtrw-backup) may read the whole schema and write
 * only the backups, the platform alerts and the platform notifications
 * (the alert and the email of a failed backup).
 *
 * The application account may also EXECUTE the schema's stored
 * procedures (the usage partitions' upkeep, 0013).
 *
 * Privileges are table by table because MariaDB cannot take one table
 * out of a database-wide grant.  Run after every migration (rtrw-admin
 * grant does it; the local stack calls it).  It is safe on a live
 * deployment: a privilege an account keeps is never taken away in between,
 * only what it must not have is revoked, after the grant.
 *
 * Layer: data.  It holds SQL (the GRANT statements), so it lives in
 * lib/store/ although it uses its own admin connection, not lib/db.h.
 */
#ifndef RTRW_STORE_GRANTS_H
#define RTRW_STORE_GRANTS_H

#include <stddef.h>

struct config;

/*
 * Connects with the admin account of c and grants as described above to
 * c->db_user, c->db_maint_user and c->db_backup_user at each host of
 * c->db_account_hosts.  Table and account names are checked against [a-z0-9_]+
 * before they are put into the GRANT statements, which cannot take
 * placeholders.  Returns the number of GRANT statements run, or -1 with err.
 */
int store_grants_apply(const struct config *c, char *err, size_t errlen);

#endif
