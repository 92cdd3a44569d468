#include "store/grants.h"

#include <mysql.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "util.h"

/*
 * Every table privilege of MariaDB 10.11 beyond the four of data access:
 * none of the accounts may have any of them.
 */
#define OTHER_PRIVS                                                            \
	"CREATE, DROP, GRANT OPTION, REFERENCES, INDEX, ALTER, CREATE VIEW, "  \
	"SHOW VIEW, TRIGGER, DELETE HISTORY"

static int
ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Hosts are [a-z0-9.:%-]: localhost, 127.0.0.1, ::1, 10.0.%. */
static int
host_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 255 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.:%-") == n;
}

static int
run(MYSQL *m, const char *sql, char *err, size_t errlen)
{
	if (mysql_real_query(m, sql, strlen(sql)) != 0) {
		snprintf(err, errlen, "'%s' failed: %s", sql, mysql_error(m));
		return -1;
	}
	return 0;
}

/* Splits the configured host list into hosts; the count, or -1. */
static int
account_hosts(const char *list, char hosts[][256], int max)
{
	int n = 0;

	while (*list && n < max) {
		size_t len = strcspn(list, ",");

		if (len == 0 || len > 255)
			return -1;
		memcpy(hosts[n], list, len);
		hosts[n][len] = '\0';
		if (!host_ok(hosts[n]))
			return -1;
		n++;
		list += len;
		if (*list == ',')
			list++;
	}
	return n;
}

/*
 * The tables the backup account writes, each when it exists: its own
 * rows, the platform alert of a failure, and the platform admins' email
 * about it (the mailer's queue).  It never writes tenant data.
 */
/*
 * What the backup account must not hold database-wide: everything of
 * MariaDB 10.11's database privileges but what a dump reads.
 */
#define BACKUP_DB_DENY                                                         \
	"INSERT, UPDATE, DELETE, CREATE, DROP, GRANT OPTION, REFERENCES, "     \
	"INDEX, ALTER, CREATE TEMPORARY TABLES, CREATE VIEW, CREATE ROUTINE, " \
	"ALTER ROUTINE, EXECUTE, DELETE HISTORY"

static const char *const backup_writes[] = {"backups", "platform_alerts",
                                            "platform_notifications", NULL};

/*
 * The backup account: everything mariadb-dump --single-transaction
 * --routines --triggers --events reads, database-wide (it must see
 * tables that later migrations add), and writing backup_writes.  Its
 * global BINLOG MONITOR and RELOAD come from the database's root (see
 * the README): the schema owner cannot grant them.
 */
static int
backup_grants(MYSQL *m, const struct config *c, char hosts[][256],
              char tables[][65], int ntables, char *err, size_t errlen)
{
	int nhosts = account_hosts(c->db_account_hosts, hosts, 8), count = 0;

	if (nhosts < 0) {
		snprintf(err, errlen,
		         "db_account_hosts must be a comma-separated list of "
		         "host names or addresses");
		return -1;
	}
	for (int h = 0; h < nhosts; h++) {
		struct buf sql = BUF_INIT(1024);
		int bad;

		/*
		 * As for the other accounts: grant, then take away what it
		 * must not have, so that a live backup account never loses
		 * what it holds in between.
		 */
		buf_addf(&sql,
		         "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES "
		         "ON `%s`.* TO '%s'@'%s'",
		         c->db_name, c->db_backup_user, hosts[h]);
		bad = run(m, sql.s, err, errlen);
		buf_reset(&sql);
		buf_addf(&sql,
		         "REVOKE " BACKUP_DB_DENY " ON `%s`.* FROM '%s'@'%s'",
		         c->db_name, c->db_backup_user, hosts[h]);
		if (!bad)
			bad = run(m, sql.s, err, errlen);
		/* The tables come with later migrations (0011 and 0015). */
		for (int w = 0; !bad && backup_writes[w]; w++) {
			int present = 0;

			for (int i = 0; i < ntables; i++)
				if (strcmp(tables[i], backup_writes[w]) == 0)
					present = 1;
			if (!present)
				continue;
			buf_reset(&sql);
			buf_addf(
			    &sql,
			    "GRANT INSERT, UPDATE ON `%s`.`%s` TO '%s'@'%s'",
			    c->db_name, backup_writes[w], c->db_backup_user,
			    hosts[h]);
			bad = run(m, sql.s, err, errlen);
			buf_reset(&sql);
			buf_addf(&sql,
			         "REVOKE DELETE, " OTHER_PRIVS
			         " ON `%s`.`%s` FROM '%s'@'%s'",
			         c->db_name, backup_writes[w],
			         c->db_backup_user, hosts[h]);
			if (!bad)
				bad = run(m, sql.s, err, errlen);
		}
		buf_release(&sql);
		if (bad)
			return -1;
		count += 2;
	}
	return count;
}

/*
 * EXECUTE on the schema's stored procedures for the application account
 * at host (the usage partition upkeep and purge of 0013, which run with
 * their definer's rights so that the account itself needs no ALTER or
 * DROP).  The number of grants, or -1 with err.
 */
static int
grant_procedures(MYSQL *m, const struct config *c, const char *host, char *err,
                 size_t errlen)
{
	char names[32][65];
	int n = 0, count = 0;
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (mysql_query(m,
	                "SELECT routine_name FROM information_schema.routines"
	                " WHERE routine_schema = DATABASE()"
	                " AND routine_type = 'PROCEDURE'") != 0 ||
	    !(res = mysql_store_result(m))) {
		snprintf(err, errlen, "listing procedures failed: %s",
		         mysql_error(m));
		return -1;
	}
	while ((row = mysql_fetch_row(res)) && n < 32)
		if (row[0] && ident_ok(row[0]))
			snprintf(names[n++], 65, "%s", row[0]);
	mysql_free_result(res);
	for (int i = 0; i < n; i++) {
		struct buf sql = BUF_INIT(512);
		int rc;

		buf_addf(&sql,
		         "GRANT EXECUTE ON PROCEDURE `%s`.`%s` TO '%s'@'%s'",
		         c->db_name, names[i], c->db_user, host);
		rc = run(m, sql.s, err, errlen);
		buf_release(&sql);
		if (rc < 0)
			return -1;
		count++;
	}
	return count;
}

int
store_grants_apply(const struct config *c, char *err, size_t errlen)
{
	const char *admin = c->db_admin_user[0] ? c->db_admin_user : c->db_user;
	char pw[256], tables[256][65], hosts[8][256];
	int ntables = 0, nhosts, count = 0, rc = -1;
	const char *accounts[2] = {c->db_user, c->db_maint_user};
	MYSQL_RES *res;
	MYSQL_ROW row;
	MYSQL *m;

	if (config_read_password(c->db_admin_password_file[0]
	                             ? c->db_admin_password_file
	                             : c->db_password_file,
	                         pw, sizeof(pw), err, errlen) < 0)
		return -1;
	if (!ident_ok(c->db_name) || !ident_ok(c->db_user) ||
	    (c->db_maint_user[0] && !ident_ok(c->db_maint_user)) ||
	    (c->db_backup_user[0] && !ident_ok(c->db_backup_user))) {
		snprintf(err, errlen,
		         "database and account names must be [a-z0-9_]");
		return -1;
	}
	m = mysql_init(NULL);
	if (!m)
		return -1;
	if (!mysql_real_connect(m, c->db_socket[0] ? NULL : c->db_host, admin,
	                        pw, c->db_name, (unsigned)c->db_port,
	                        c->db_socket[0] ? c->db_socket : NULL, 0)) {
		snprintf(err, errlen, "connect as '%s' failed: %s", admin,
		         mysql_error(m));
		goto out_close;
	}
	if (mysql_query(m, "SELECT table_name FROM information_schema.tables"
	                   " WHERE table_schema = DATABASE()"
	                   " AND table_type = 'BASE TABLE'") != 0 ||
	    !(res = mysql_store_result(m))) {
		snprintf(err, errlen, "listing tables failed: %s",
		         mysql_error(m));
		goto out_close;
	}
	while ((row = mysql_fetch_row(res)) && ntables < 256)
		if (row[0] && ident_ok(row[0]))
			snprintf(tables[ntables++], 65, "%s", row[0]);
	mysql_free_result(res);

	for (int a = 0; a < 2; a++) {
		if (!accounts[a][0])
			continue;
		nhosts = account_hosts(c->db_account_hosts, hosts, 8);
		if (nhosts < 0) {
			snprintf(err, errlen,
			         "db_account_hosts must be a comma-separated "
			         "list of host names or addresses");
			goto out_close;
		}
		for (int h = 0; h < nhosts; h++) {
			for (int i = 0; i < ntables; i++) {
				struct buf sql = BUF_INIT(1024);
				const char *t = tables[i], *privs, *deny;

				/* Audit trails are written once, never changed.
				 */
				if (a == 0 &&
				    (strcmp(t, "audit_logs") == 0 ||
				     strcmp(t, "platform_audit_logs") == 0)) {
					privs = "SELECT, INSERT";
					deny = "UPDATE, DELETE, " OTHER_PRIVS;
				} else if (a == 0 &&
				           strcmp(t, "schema_migrations") ==
				               0) {
					privs = "SELECT";
					deny = "INSERT, UPDATE, "
					       "DELETE, " OTHER_PRIVS;
				} else if (a == 0) {
					privs =
					    "SELECT, INSERT, UPDATE, DELETE";
					deny = OTHER_PRIVS;
				} else if (strcmp(t, "audit_logs") == 0) {
					privs = "SELECT, DELETE";
					deny = "INSERT, UPDATE, " OTHER_PRIVS;
				} else {
					privs = NULL;
					deny = NULL;
				}
				if (!privs) {
					/* Nothing to revoke is fine. */
					buf_addf(&sql,
					         "REVOKE ALL PRIVILEGES ON "
					         "`%s`.`%s` "
					         "FROM '%s'@'%s'",
					         c->db_name, t, accounts[a],
					         hosts[h]);
					mysql_real_query(m, sql.s, sql.len);
					buf_release(&sql);
					continue;
				}
				/*
				 * Grant first, then take away what the account
				 * must not have (UPDATE on audit_logs, left by
				 * an older grant): revoking everything to grant
				 * it again would fail the queries of a live
				 * deployment in between.  Revoking a privilege
				 * the account does not hold is no error once it
				 * holds some on the table.
				 */
				buf_addf(&sql,
				         "GRANT %s ON `%s`.`%s` TO '%s'@'%s'",
				         privs, c->db_name, t, accounts[a],
				         hosts[h]);
				if (run(m, sql.s, err, errlen) < 0) {
					buf_release(&sql);
					goto out_close;
				}
				count++;
				buf_reset(&sql);
				buf_addf(
				    &sql,
				    "REVOKE %s ON `%s`.`%s` FROM '%s'@'%s'",
				    deny, c->db_name, t, accounts[a], hosts[h]);
				if (run(m, sql.s, err, errlen) < 0) {
					buf_release(&sql);
					goto out_close;
				}
				buf_release(&sql);
			}
			if (a == 0) {
				int np = grant_procedures(m, c, hosts[h], err,
				                          errlen);

				if (np < 0)
					goto out_close;
				count += np;
			}
		}
	}
	if (c->db_backup_user[0]) {
		int n =
		    backup_grants(m, c, hosts, tables, ntables, err, errlen);

		if (n < 0)
			goto out_close;
		count += n;
	}
	rc = count;
out_close:
	explicit_bzero(pw, sizeof(pw));
	mysql_close(m);
	return rc;
}
