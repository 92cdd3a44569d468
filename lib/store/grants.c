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
	    (c->db_maint_user[0] && !ident_ok(c->db_maint_user))) {
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

				if (a == 0 && strcmp(t, "audit_logs") == 0) {
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
	rc = count;
out_close:
	explicit_bzero(pw, sizeof(pw));
	mysql_close(m);
	return rc;
}
