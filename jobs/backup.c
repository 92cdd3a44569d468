/*
 * rtrw-backup: encrypted backups with point-in-time recovery.  The logic
 * is in lib/backupjob.c (commands) and lib/backup.c (the container); this
 * file parses arguments.
 *
 * Exit status: 0 done, 1 failed (or refused), 2 usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backupjob.h"
#include "config.h"
#include "log.h"
#include "store/registry.h"
#include "util.h"

static const char usage_text[] =
    "usage: rtrw-backup [--config FILE] COMMAND\n"
    "\n"
    "commands:\n"
    "  run [--scheduled] [--if-queued]\n"
    "                     take a backup now (a queued one first);\n"
    "                     --if-queued: only when one is queued\n"
    "  queued             the backups and verifications queued through\n"
    "                     the API (the service of the queued timer)\n"
    "  binlog [--no-rotate]\n"
    "                     archive the closed binary logs (closing the\n"
    "                     current one first when it holds transactions)\n"
    "  list               the backups\n"
    "  verify ID|latest|FILE [--no-load]\n"
    "                     check every chunk and digest, then test-load\n"
    "                     into a scratch server\n"
    "  restore ID|latest|FILE [--until 'YYYY-MM-DD HH:MM:SS'] [--replace]\n"
    "          [--target-socket PATH | --target-host H --target-port N]\n"
    "          [--target-user U] [--target-password-file F]\n"
    "          [--target-db NAME]\n"
    "                     check, restore, then replay the archived binary\n"
    "                     logs up to --until (UTC); the target defaults to\n"
    "                     the configured server as db_admin_user\n"
    "  prune              remove what is older than backup_retention_days\n"
    "  keys               the backup keys and the files using each\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* Copies the value of option argv[*i] into out; 0 or -1. */
static int
take(int argc, char **argv, int *i, char *out, size_t n)
{
	if (*i + 1 >= argc || strlen(argv[*i + 1]) >= n)
		return -1;
	snprintf(out, n, "%s", argv[++*i]);
	return 0;
}

static int
cmd_restore(const struct config *c, int argc, char **argv)
{
	struct backupjob_target t;
	const char *ref = NULL, *until = NULL;
	char port[16] = "";

	memset(&t, 0, sizeof(t));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int bad = 0;

		if (strcmp(a, "--until") == 0 && i + 1 < argc)
			until = argv[++i];
		else if (strcmp(a, "--replace") == 0)
			t.replace = 1;
		else if (strcmp(a, "--target-socket") == 0)
			bad = take(argc, argv, &i, t.socket, sizeof(t.socket));
		else if (strcmp(a, "--target-host") == 0)
			bad = take(argc, argv, &i, t.host, sizeof(t.host));
		else if (strcmp(a, "--target-port") == 0)
			bad = take(argc, argv, &i, port, sizeof(port));
		else if (strcmp(a, "--target-user") == 0)
			bad = take(argc, argv, &i, t.user, sizeof(t.user));
		else if (strcmp(a, "--target-password-file") == 0)
			bad = take(argc, argv, &i, t.password_file,
			           sizeof(t.password_file));
		else if (strcmp(a, "--target-db") == 0)
			bad = take(argc, argv, &i, t.database,
			           sizeof(t.database));
		else if (a[0] != '-' && !ref)
			ref = a;
		else
			bad = 1;
		if (bad)
			return usage();
	}
	if (port[0]) {
		int64_t p;

		if (parse_int64(port, 1, 65535, &p) < 0)
			return usage();
		t.port = (int)p;
	}
	if (!ref || (t.socket[0] && t.host[0]))
		return usage();
	return backupjob_restore(c, ref, until, &t, stdout);
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *config_path = NULL, *cmd;
	char err[512];
	int i = 1, rc;

	if (argc > 2 && strcmp(argv[1], "--config") == 0) {
		config_path = argv[2];
		i = 3;
	}
	if (i >= argc || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "--help") == 0)
		return usage();
	log_setup("rtrw-backup", LOG_INFO);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-backup: %s\n", err);
		return 1;
	}
	log_setup("rtrw-backup",
	          (enum log_level)log_level_parse(cfg.log_level));
	if (store_register(err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-backup: %s\n", err);
		config_wipe(&cfg);
		return 1;
	}
	cmd = argv[i++];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "run") == 0) {
		const char *source = "manual";
		int only_queued = 0;

		for (int k = 0; k < argc; k++) {
			if (strcmp(argv[k], "--scheduled") == 0)
				source = "schedule";
			else if (strcmp(argv[k], "--if-queued") == 0)
				only_queued = 1;
			else
				return usage();
		}
		rc = backupjob_run(&cfg, source, only_queued, stdout);
	} else if (strcmp(cmd, "queued") == 0 && argc == 0) {
		rc = backupjob_queued(&cfg, stdout);
	} else if (strcmp(cmd, "binlog") == 0) {
		if (argc > 1 || (argc == 1 && strcmp(argv[0], "--no-rotate")))
			return usage();
		rc = backupjob_binlog(&cfg, argc == 0, stdout);
	} else if (strcmp(cmd, "list") == 0 && argc == 0) {
		rc = backupjob_list(&cfg, stdout);
	} else if (strcmp(cmd, "verify") == 0 && argc >= 1 && argc <= 2) {
		int load = 1;

		if (argc == 2 && strcmp(argv[1], "--no-load") != 0)
			return usage();
		if (argc == 2)
			load = 0;
		rc = backupjob_verify(&cfg, argv[0], load, stdout);
	} else if (strcmp(cmd, "restore") == 0) {
		rc = cmd_restore(&cfg, argc, argv);
	} else if (strcmp(cmd, "prune") == 0 && argc == 0) {
		rc = backupjob_prune(&cfg, stdout);
	} else if (strcmp(cmd, "keys") == 0 && argc == 0) {
		rc = backupjob_keys(&cfg, stdout);
	} else {
		rc = usage();
	}
	config_wipe(&cfg);
	return rc;
}
