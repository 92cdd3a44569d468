/*
 * rtrw-migrate: applies, reverts and reports schema migrations and loads
 * the reference data (the roles).  The logic lives in
 * lib/store/migrate.c; this file only reads the command line.  The demo
 * tenant is not made here but by `rtrw-admin demo`, which hashes its
 * users' passwords.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store/migrate.h"
#include "util.h"

static const char usage_text[] =
    "usage: rtrw-migrate [--config FILE] [--driver mysql|postgres]\n"
    "                    [--conninfo PGCONNINFO] [--dir DIR] COMMAND\n"
    "\n"
    "commands:\n"
    "  up               apply every pending migration\n"
    "  down [N|all]     revert the newest N migrations (default 1)\n"
    "  to VERSION       migrate up or down to VERSION (0 reverts all)\n"
    "  status           list migrations, applied or pending\n"
    "  seed             insert the roles; running it again changes\n"
    "                   nothing (the demo tenant: rtrw-admin demo)\n"
    "\n"
    "options:\n"
    "  --config FILE    configuration file (default $RTRW_CONFIG or\n"
    "                   " CONFIG_DEFAULT_PATH "); MariaDB only.  Uses\n"
    "                   db_socket or db_host/db_port, db_name, and\n"
    "                   db_admin_user/db_admin_password_file (falling\n"
    "                   back to db_user/db_password_file)\n"
    "  --driver NAME    mysql (MariaDB, the default) or postgres\n"
    "  --conninfo STR   libpq connection string; implies --driver\n"
    "                   postgres (empty: the PG* environment)\n"
    "  --dir DIR        migration directory (default sql/mysql or\n"
    "                   sql/postgres under the current directory)\n"
    "  -h, --help       show this text\n";

static int
usage_error(const char *msg)
{
	fprintf(stderr, "rtrw-migrate: %s (see --help)\n", msg);
	return 2;
}

/* Parses a migration count or version in [0, 9999]; -1 if malformed. */
static int
parse_count(const char *s)
{
	int64_t v;

	if (parse_int64(s, 0, MIGRATE_VERSION_MAX, &v) != 0)
		return -1;
	return (int)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"driver", required_argument, NULL, 'D'},
	    {"conninfo", required_argument, NULL, 'p'},
	    {"dir", required_argument, NULL, 'd'},
	    {"demo", no_argument, NULL, 'm'}, /* removed; see below */
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *driver = NULL, *conninfo = NULL;
	const char *dir = NULL, *cmd, *arg = NULL;
	struct migration_set set = {NULL, 0};
	struct migrate_driver d;
	struct config cfg;
	char err[1024];
	int ch, pg, n = 0, rc = 1;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'D':
			driver = optarg;
			break;
		case 'p':
			conninfo = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'm':
			/* Old scripts: say where the demo seeding went. */
			return usage_error(
			    "--demo was removed; the demo tenant "
			    "is made by 'rtrw-admin demo'");
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return usage_error("missing command");
	cmd = argv[optind++];
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc)
		return usage_error("too many arguments");

	if (driver == NULL)
		driver = conninfo != NULL ? "postgres" : "mysql";
	if (strcmp(driver, "postgres") == 0 || strcmp(driver, "pg") == 0)
		pg = 1;
	else if (strcmp(driver, "mysql") == 0 || strcmp(driver, "mariadb") == 0)
		pg = 0;
	else
		return usage_error("--driver must be mysql or postgres");
	if (!pg && conninfo != NULL)
		return usage_error("--conninfo needs --driver postgres");
	if (dir == NULL)
		dir = pg ? "sql/postgres" : "sql/mysql";

	/* Check the command's shape before touching any database. */
	if (strcmp(cmd, "up") == 0 || strcmp(cmd, "status") == 0) {
		if (arg != NULL)
			return usage_error("this command takes no argument");
	} else if (strcmp(cmd, "down") == 0) {
		if (arg == NULL)
			n = 1;
		else if (strcmp(arg, "all") == 0)
			n = -1;
		else if ((n = parse_count(arg)) < 1)
			return usage_error("down takes a positive count or "
			                   "'all'");
	} else if (strcmp(cmd, "to") == 0) {
		if (arg == NULL || (n = parse_count(arg)) < 0)
			return usage_error("to takes a version number");
	} else if (strcmp(cmd, "seed") == 0) {
		if (arg != NULL)
			return usage_error("seed takes no argument");
	} else {
		return usage_error("unknown command");
	}

	if (store_migrate_scan(dir, &set, err, sizeof(err)) != 0)
		goto out_error;
	if (pg) {
		if (store_migrate_pg_open(&d, conninfo, err, sizeof(err)) != 0)
			goto out_release_set;
	} else {
		if (config_load(&cfg, config_path, err, sizeof(err)) != 0)
			goto out_release_set;
		rc = store_migrate_mysql_open(&d, &cfg, err, sizeof(err));
		config_wipe(&cfg);
		if (rc != 0) {
			rc = 1;
			goto out_release_set;
		}
	}

	if (strcmp(cmd, "up") == 0)
		rc = store_migrate_to(&d, &set, -1, stdout, err, sizeof(err));
	else if (strcmp(cmd, "down") == 0)
		rc = store_migrate_down(&d, &set, n, stdout, err, sizeof(err));
	else if (strcmp(cmd, "to") == 0)
		rc = store_migrate_to(&d, &set, n, stdout, err, sizeof(err));
	else if (strcmp(cmd, "status") == 0)
		rc = store_migrate_status(&d, &set, stdout, err, sizeof(err));
	else
		rc = store_migrate_seed(&d, &set, stdout, err, sizeof(err));
	rc = rc != 0;
	store_migrate_driver_close(&d);
	store_migrate_set_release(&set);
	if (rc != 0)
		goto out_error;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rtrw-migrate: cannot write the output\n");
		return 1;
	}
	return 0;

out_release_set:
	store_migrate_driver_close(&d);
	store_migrate_set_release(&set);
out_error:
	fflush(stdout);
	fprintf(stderr, "rtrw-migrate: %s\n", err);
	return 1;
}
