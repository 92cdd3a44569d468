/*
 * rtrw-admin: the platform operator's command-line tool.
 *
 *   rtrw-admin [--config FILE] platform-admin create --email E --name N
 *              (the password is read from standard input, one line)
 *   rtrw-admin tenants list
 *   rtrw-admin tenants delete ID
 *   rtrw-admin tenant export ID --out FILE   (lib/tenant_export.h)
 *   rtrw-admin audit verify [--tenant ID]
 *   rtrw-admin audit archive --out FILE [--older-than-days N]
 *   rtrw-admin grant
 *   rtrw-admin demo [--logins FILE]
 *
 * The logic lives in lib/; this file parses arguments and prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "store/grants.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "row.h"
#include "store/audit.h"
#include "store/platform.h"
#include "store/registry.h"
#include "store/tenant.h"
#include "tdb.h"
#include "tenant_export.h"
#include "util.h"

static struct config cfg;
static struct arena arena;

static int
usage(void)
{
	fprintf(stderr,
	        "usage: rtrw-admin [--config FILE] COMMAND\n"
	        "  platform-admin create --email E --name N   "
	        "(password on stdin)\n"
	        "  tenants list\n"
	        "  tenants delete ID\n"
	        "  tenant export ID --out FILE   all of one tenant's data "
	        "(tar of JSON lines)\n"
	        "  audit verify [--tenant ID]\n"
	        "  audit archive --out FILE [--older-than-days N]  (N >= 365)\n"
	        "  grant                  table privileges of the app and "
	        "maintenance accounts\n"
	        "  demo [--logins FILE]   the demo tenant and its users\n");
	return 2;
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static struct db *
connect_as(int account)
{
	char err[512];
	struct db *db = db_open(&cfg, account, err, sizeof(err));

	if (!db)
		fprintf(stderr, "rtrw-admin: %s\n", err);
	return db;
}

static int
cmd_platform_admin(int argc, char **argv)
{
	const char *email = opt(argc, argv, "--email");
	const char *name = opt(argc, argv, "--name");
	char pw[AUTH_PASSWORD_MAX + 2], hash[AUTH_HASH_MAX], folded[256];
	struct db *db;
	int64_t id;
	int rc = 1;

	if (argc < 1 || strcmp(argv[0], "create") != 0 || !email || !name)
		return usage();
	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "rtrw-admin: give the password on stdin\n");
		return 1;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	if (strlen(pw) < AUTH_PASSWORD_MIN) {
		fprintf(stderr,
		        "rtrw-admin: the password needs at least %d "
		        "characters\n",
		        AUTH_PASSWORD_MIN);
		goto out_wipe;
	}
	snprintf(folded, sizeof(folded), "%s", email);
	identity_fold_email(folded);
	if (auth_password_hash(&cfg, pw, hash, sizeof(hash)) < 0)
		goto out_wipe;
	db = connect_as(DB_ACCOUNT_APP);
	if (!db)
		goto out_wipe;
	if (store_platform_insert(db, &arena, name, folded, hash, &id) < 0) {
		fprintf(stderr, "rtrw-admin: %s\n",
		        db_last_error(db) == DBE_DUPLICATE
		            ? "a platform admin with this email exists"
		            : "database error");
	} else {
		printf("platform admin '%s' created; log in with tenant "
		       "\"platform\"\n",
		       folded);
		rc = 0;
	}
	db_close(db);
out_wipe:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

static int
cmd_tenants(int argc, char **argv)
{
	struct rows res;
	struct db *db;
	int64_t id, total;
	int rc = 1;

	if (argc < 1)
		return usage();
	db = connect_as(DB_ACCOUNT_APP);
	if (!db)
		return 1;
	if (strcmp(argv[0], "list") == 0) {
		if (store_tenant_list(db, &arena, 1000000, 0, &res, &total) ==
		    0) {
			printf("%-6s %-24s %-8s %-6s %s\n", "id", "slug",
			       "status", "users", "name");
			for (size_t i = 0; i < res.n; i++) {
				const struct tenant_summary *t =
				    rows_at(&res, i);

				printf("%-6" PRId64 " %-24s %-8s %-6" PRId64
				       " %s\n",
				       t->id, t->slug, t->status, t->users,
				       t->name);
			}
			rc = 0;
		}
	} else if (strcmp(argv[0], "delete") == 0 && argc == 2 &&
	           parse_int64(argv[1], 1, INT64_MAX, &id) == 0) {
		switch (store_tenant_delete(db, &arena, id)) {
		case 1:
			printf("tenant %" PRId64 " and all its data deleted\n",
			       id);
			rc = 0;
			break;
		case 0:
			fprintf(stderr, "rtrw-admin: no tenant %" PRId64 "\n",
			        id);
			break;
		}
	} else {
		rc = usage();
	}
	db_close(db);
	return rc;
}

static int
cmd_audit_verify(int argc, char **argv)
{
	const char *only = opt(argc, argv, "--tenant");
	struct rows tenants;
	int64_t want = 0, total = 0, n;
	int broken = 0, rc = 1;
	struct db *db;

	if (only && parse_int64(only, 1, INT64_MAX, &want) < 0)
		return usage();
	db = connect_as(DB_ACCOUNT_APP);
	if (!db)
		return 1;
	if (store_tenant_list(db, &arena, 1000000, 0, &tenants, &n) < 0)
		goto out_close;
	for (size_t i = 0; i < tenants.n; i++) {
		const struct tenant_summary *ts = rows_at(&tenants, i);
		int64_t tid = ts->id, checked, bad;
		struct arena page;
		struct tdb *t;
		const char *why;
		int r;

		if (want && tid != want)
			continue;
		arena_init(&page, 0);
		t = tdb_open(db, &arena, tid);
		r = t ? audit_verify(t, &page, &checked, &bad, &why) : -1;
		arena_release(&page);
		if (r < 0)
			goto out_close;
		total += checked;
		if (r == 1) {
			broken = 1;
			printf("tenant %" PRId64
			       " (%s): BROKEN at entry %" PRId64 ": %s\n",
			       tid, ts->slug, bad, why);
		} else {
			printf("tenant %" PRId64 " (%s): %" PRId64
			       " entries, chain intact\n",
			       tid, ts->slug, checked);
		}
	}
	printf("%" PRId64 " entries checked, %s\n", total,
	       broken ? "chain BROKEN" : "all chains intact");
	rc = broken ? 1 : 0;
out_close:
	db_close(db);
	return rc;
}

/*
 * Moves audit entries older than N days (N >= 365) into a JSON-lines
 * file, then deletes them.  Runs as the maintenance account, the only one
 * the database lets delete audit rows, and only rows past retention.
 */
static int
cmd_audit_archive(int argc, char **argv)
{
	const char *out = opt(argc, argv, "--out");
	const char *days_s = opt(argc, argv, "--older-than-days");
	int64_t days = 365, after = 0, moved = 0;
	struct rows res;
	struct db *db;
	FILE *f;
	int rc = 1;

	if (!out || (days_s && parse_int64(days_s, 365, 36500, &days) < 0))
		return usage();
	f = fopen(out, "a");
	if (!f) {
		fprintf(stderr, "rtrw-admin: cannot open '%s': %s\n", out,
		        strerror(errno));
		return 1;
	}
	db = connect_as(DB_ACCOUNT_MAINT);
	if (!db)
		goto out_close_file;
	for (;;) {
		if (store_audit_archive_page(db, &arena, days, after, &res) < 0)
			goto out_close;
		if (res.n == 0)
			break;
		for (size_t i = 0; i < res.n; i++) {
			const struct audit_stored *e = rows_at(&res, i);
			cJSON *row = row_json(&audit_stored_row, e);
			char *line = row ? cJSON_PrintUnformatted(row) : NULL;

			cJSON_Delete(row);
			if (!line)
				goto out_close;
			/* Written and flushed before the row goes. */
			if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0) {
				free(line);
				goto out_close;
			}
			free(line);
			after = e->id;
			if (store_audit_archive_delete(db, &arena, after) < 0)
				goto out_close;
			moved++;
		}
		arena_reset(&arena);
	}
	printf("%" PRId64 " audit entries older than %" PRId64
	       " days archived to %s\n",
	       moved, days, out);
	rc = 0;
out_close:
	db_close(db);
out_close_file:
	if (fclose(f) != 0)
		rc = 1;
	return rc;
}

/*
 * All of one tenant's data into a tar of JSON lines with a manifest
 * (portability and access requests; the format is in
 * lib/tenant_export.h).
 */
static int
cmd_tenant_export(int argc, char **argv)
{
	const char *out = opt(argc, argv, "--out");
	char err[512];
	int64_t id;

	if (argc != 4 || strcmp(argv[0], "export") != 0 || !out ||
	    parse_int64(argv[1], 1, INT64_MAX, &id) < 0)
		return usage();
	if (tenant_export(&cfg, id, out, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-admin: %s\n", err);
		return 1;
	}
	printf("tenant %" PRId64 " exported to %s\n", id, out);
	return 0;
}

/* The demo tenant with one user per role, for `make run`. */
static int
cmd_demo(int argc, char **argv)
{
	static const char *const roles[] = {"admin", "operator", "technician",
	                                    "viewer"};
	static const char password[] = "demo-password";
	const char *logins = opt(argc, argv, "--logins");
	struct new_tenant nt;
	struct tenant demo;
	int64_t tid, uid;
	int found;
	struct db *db;
	struct tdb *t;
	FILE *f = NULL;

	db = connect_as(DB_ACCOUNT_APP);
	if (!db)
		return 1;
	found = store_tenant_by_slug(db, &arena, "demo", &demo);
	if (found < 0)
		goto out_fail;
	if (found == 0) {
		memset(&nt, 0, sizeof(nt));
		nt.slug = "demo";
		nt.name = "Demo RT/RW Net";
		nt.admin_name = "Demo Admin";
		nt.admin_email = "admin@demo.rtrw.id";
		nt.admin_password = password;
		nt.ip = "127.0.0.1";
		nt.user_agent = "rtrw-admin demo";
		if (identity_tenant_create(db, &arena, &cfg, &nt, &tid, &uid) !=
		    IDENTITY_OK)
			goto out_fail;
	} else {
		tid = demo.id;
	}
	t = tdb_open(db, &arena, tid);
	for (size_t i = 1; t && i < ARRAY_SIZE(roles); i++) {
		char email[64], name[64];

		snprintf(email, sizeof(email), "%s@demo.rtrw.id", roles[i]);
		snprintf(name, sizeof(name), "Demo %s", roles[i]);
		/* Already there from an earlier run: fine. */
		if (identity_user_insert(t, &cfg, name, email, password,
		                         roles[i], &uid) == IDENTITY_FAILED)
			goto out_fail;
	}
	if (logins) {
		f = fopen(logins, "w");
		if (!f)
			goto out_fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
		char line[160];

		snprintf(line, sizeof(line),
		         "  %-10s tenant=demo  email=%s@demo.rtrw.id  "
		         "password=%s\n",
		         roles[i], roles[i], password);
		fputs(line, f ? f : stdout);
	}
	if (f)
		fclose(f);
	db_close(db);
	return 0;
out_fail:
	fprintf(stderr, "rtrw-admin: demo seeding failed\n");
	db_close(db);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	char err[512];
	int i = 1, rc;

	if (argc > 2 && strcmp(argv[1], "--config") == 0) {
		config_path = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage();
	log_setup("rtrw-admin", LOG_WARN);
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-admin: %s\n", err);
		return 1;
	}
	/* Secrets are only needed to hash passwords; not for the rest. */
	(void)config_load_secrets(&cfg, err, sizeof(err));
	if (store_register(err, sizeof(err)) < 0) {
		fprintf(stderr, "rtrw-admin: %s\n", err);
		return 1;
	}
	arena_init(&arena, 256L * 1024 * 1024);
	if (strcmp(argv[i], "platform-admin") == 0)
		rc = cmd_platform_admin(argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "tenants") == 0)
		rc = cmd_tenants(argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "tenant") == 0)
		rc = cmd_tenant_export(argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "audit") == 0 && i + 1 < argc &&
	         strcmp(argv[i + 1], "verify") == 0)
		rc = cmd_audit_verify(argc - i - 2, argv + i + 2);
	else if (strcmp(argv[i], "audit") == 0 && i + 1 < argc &&
	         strcmp(argv[i + 1], "archive") == 0)
		rc = cmd_audit_archive(argc - i - 2, argv + i + 2);
	else if (strcmp(argv[i], "grant") == 0) {
		rc = store_grants_apply(&cfg, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "rtrw-admin: %s\n", err);
		else
			printf("%d table grants applied\n", rc);
		rc = rc < 0 ? 1 : 0;
	} else if (strcmp(argv[i], "demo") == 0)
		rc = cmd_demo(argc - i - 1, argv + i + 1);
	else
		rc = usage();
	arena_release(&arena);
	config_wipe(&cfg);
	return rc;
}
