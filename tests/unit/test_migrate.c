/*
 * Unit tests of lib/store/migrate.c without a database: file name parsing,
 * discovery and ordering, gap/duplicate/missing-pair detection, checksums
 * and the verification of applied rows against the files.  One test reads
 * the project's own sql/mysql and sql/postgres (run from the repository
 * root, as `make unit` does) without assuming how many migrations exist.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "store/migrate.h"

/* SHA-256 of "abc" (FIPS 180-2 test vector). */
#define SHA256_ABC                                                             \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_migrate.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
remove_tmpdir(void)
{
	struct buf cmd = BUF_INIT(4096);

	/* tmpdir comes from mkdtemp: no quotes or spaces in it. */
	buf_addf(&cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd.s), 0);
	buf_release(&cmd);
}

static void
write_file(const char *name, const char *text)
{
	struct buf path = BUF_INIT(4096);
	FILE *f;

	buf_addf(&path, "%s/%s", tmpdir, name);
	f = fopen(path.s, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	buf_release(&path);
}

/* Writes both halves of a migration with simple SQL. */
static void
write_pair(const char *stem)
{
	char name[256];

	snprintf(name, sizeof(name), "%s.up.sql", stem);
	write_file(name, "CREATE TABLE t (id INT);\n");
	snprintf(name, sizeof(name), "%s.down.sql", stem);
	write_file(name, "DROP TABLE t;\n");
}

/* Scans tmpdir expecting failure; returns the error text (static). */
static const char *
scan_error(void)
{
	static char err[512];
	struct migration_set set;

	err[0] = '\0';
	ck_assert_int_eq(store_migrate_scan(tmpdir, &set, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_null(set.items);
	ck_assert_uint_eq(set.n, 0);
	return err;
}

START_TEST(test_parse_filename)
{
	char name[MIGRATE_NAME_MAX + 1], err[256];
	int v = 0, up = -1;

	ck_assert_int_eq(store_migrate_parse_filename("0001_core.up.sql", &v,
	                                              name, sizeof(name), &up,
	                                              err, sizeof(err)),
	                 1);
	ck_assert_int_eq(v, 1);
	ck_assert_str_eq(name, "core");
	ck_assert_int_eq(up, 1);

	ck_assert_int_eq(
	    store_migrate_parse_filename("0042_add_speed_2.down.sql", &v, name,
	                                 sizeof(name), &up, err, sizeof(err)),
	    1);
	ck_assert_int_eq(v, 42);
	ck_assert_str_eq(name, "add_speed_2");
	ck_assert_int_eq(up, 0);
}
END_TEST

START_TEST(test_parse_filename_bad)
{
	static const char *const bad[] = {
	    "001_core.up.sql",   "00001_core.up.sql", "0001core.up.sql",
	    "0001_.up.sql",      "0001_Core.up.sql",  "0001_core.sql",
	    "0001_core.UP.sql",  "abcd_core.up.sql",  "0000_core.up.sql",
	    "0001_co-re.up.sql", "0001_core.up.sql~", "-001_core.up.sql",
	};
	char name[MIGRATE_NAME_MAX + 1], err[256];
	int v, up;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(
		    store_migrate_parse_filename(bad[i], &v, name, sizeof(name),
		                                 &up, err, sizeof(err)) == 0,
		    "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(err, bad[i]) != NULL,
		              "error for '%s' does not name it: %s", bad[i],
		              err);
	}
}
END_TEST

START_TEST(test_checksum)
{
	char sum[MIGRATE_SHA256_HEX], err[256], path[128];

	make_tmpdir();
	write_file("abc", "abc");
	snprintf(path, sizeof(path), "%s/abc", tmpdir);
	ck_assert_int_eq(
	    store_migrate_checksum_file(path, sum, err, sizeof(err)), 0);
	ck_assert_str_eq(sum, SHA256_ABC);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ck_assert_int_eq(
	    store_migrate_checksum_file(path, sum, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing"));

	write_file("empty", "");
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	ck_assert_int_eq(
	    store_migrate_checksum_file(path, sum, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_orders_numerically)
{
	struct migration_set set;
	char err[512], path[128], sum[MIGRATE_SHA256_HEX];
	size_t i;

	make_tmpdir();
	/* Created out of order; 0010 must come after 0009, not after 0001. */
	write_pair("0010_ten");
	write_pair("0002_two");
	write_pair("0001_one");
	for (i = 3; i <= 9; i++) {
		char stem[32];

		snprintf(stem, sizeof(stem), "%04zu_m%zu", i, i);
		write_pair(stem);
	}
	write_file("README.md", "not a migration\n");
	write_file(".hidden.sql", "ignored\n");

	ck_assert_int_eq(store_migrate_scan(tmpdir, &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 10);
	for (i = 0; i < set.n; i++)
		ck_assert_int_eq(set.items[i].version, (int)i + 1);
	ck_assert_str_eq(set.items[0].name, "one");
	ck_assert_str_eq(set.items[1].name, "two");
	ck_assert_str_eq(set.items[9].name, "ten");
	ck_assert_str_eq(set.items[9].up_file, "0010_ten.up.sql");
	snprintf(path, sizeof(path), "%s/0010_ten.down.sql", tmpdir);
	ck_assert_str_eq(set.items[9].down_path, path);

	snprintf(path, sizeof(path), "%s/0001_one.up.sql", tmpdir);
	ck_assert_int_eq(
	    store_migrate_checksum_file(path, sum, err, sizeof(err)), 0);
	ck_assert_str_eq(set.items[0].checksum, sum);
	ck_assert_uint_eq(strlen(sum), 64);

	store_migrate_set_release(&set);
	ck_assert_ptr_null(set.items);
	ck_assert_uint_eq(set.n, 0);
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_gap)
{
	make_tmpdir();
	write_pair("0001_one");
	write_pair("0002_two");
	write_pair("0004_four");
	ck_assert_ptr_nonnull(strstr(scan_error(), "0003 is missing"));
	ck_assert_ptr_nonnull(strstr(scan_error(), "0004_four"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_must_start_at_one)
{
	make_tmpdir();
	write_pair("0002_two");
	ck_assert_ptr_nonnull(strstr(scan_error(), "start at 0001"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_duplicate)
{
	const char *err;

	make_tmpdir();
	write_pair("0001_one");
	write_pair("0002_two");
	write_pair("0002_deux");
	err = scan_error();
	ck_assert_ptr_nonnull(strstr(err, "duplicate migration version 0002"));
	ck_assert_ptr_nonnull(strstr(err, "0002_deux.up.sql"));
	ck_assert_ptr_nonnull(strstr(err, "0002_two.up.sql"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_duplicate_down)
{
	make_tmpdir();
	write_pair("0001_one");
	write_file("0001_uno.down.sql", "DROP TABLE t;\n");
	ck_assert_ptr_nonnull(strstr(scan_error(), "duplicate"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_missing_down)
{
	const char *err;

	make_tmpdir();
	write_pair("0001_one");
	write_file("0002_two.up.sql", "CREATE TABLE u (id INT);\n");
	err = scan_error();
	ck_assert_ptr_nonnull(strstr(err, "'0002_two.up.sql'"));
	ck_assert_ptr_nonnull(strstr(err, "no matching 0002_two.down.sql"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_missing_up)
{
	make_tmpdir();
	write_file("0001_one.down.sql", "DROP TABLE t;\n");
	ck_assert_ptr_nonnull(
	    strstr(scan_error(), "no matching 0001_one.up.sql"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_mismatched_names)
{
	make_tmpdir();
	write_file("0001_one.up.sql", "CREATE TABLE t (id INT);\n");
	write_file("0001_uno.down.sql", "DROP TABLE t;\n");
	ck_assert_ptr_nonnull(strstr(scan_error(), "differently named"));
	remove_tmpdir();
}
END_TEST

START_TEST(test_scan_bad_name_and_empty)
{
	make_tmpdir();
	ck_assert_ptr_nonnull(strstr(scan_error(), "no migration files"));
	write_pair("0001_one");
	write_file("2_oops.up.sql", "SELECT 1;\n");
	ck_assert_ptr_nonnull(strstr(scan_error(), "2_oops.up.sql"));
	remove_tmpdir();

	make_tmpdir();
	write_pair("0001_one");
	write_file("0002_two.up.sql", "");
	write_file("0002_two.down.sql", "DROP TABLE u;\n");
	ck_assert_ptr_nonnull(strstr(scan_error(), "empty"));
	remove_tmpdir();

	ck_assert_ptr_nonnull(strstr(scan_error(), "cannot open"));
}
END_TEST

START_TEST(test_verify)
{
	struct migration_set set;
	struct migrate_applied rows[3];
	char err[512];
	int current = -1;

	make_tmpdir();
	write_pair("0001_one");
	write_pair("0002_two");
	ck_assert_int_eq(store_migrate_scan(tmpdir, &set, err, sizeof(err)), 0);

	memset(rows, 0, sizeof(rows));
	rows[0].version = 1;
	snprintf(rows[0].name, sizeof(rows[0].name), "one");
	memcpy(rows[0].checksum, set.items[0].checksum, MIGRATE_SHA256_HEX);

	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 0, &current, err, sizeof(err)), 0);
	ck_assert_int_eq(current, 0);
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 1, &current, err, sizeof(err)), 0);
	ck_assert_int_eq(current, 1);

	/* An edited applied file is refused by name. */
	rows[0].checksum[0] = rows[0].checksum[0] == '0' ? '1' : '0';
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 1, &current, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "0001_one.up.sql"));
	ck_assert_ptr_nonnull(strstr(err, "edited"));
	memcpy(rows[0].checksum, set.items[0].checksum, MIGRATE_SHA256_HEX);

	/* A renamed file is refused. */
	snprintf(rows[0].name, sizeof(rows[0].name), "uno");
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 1, &current, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "renamed"));
	snprintf(rows[0].name, sizeof(rows[0].name), "one");

	/* A hole in schema_migrations is refused. */
	rows[1].version = 3;
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 2, &current, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not contiguous"));

	/* The database is newer than the files. */
	rows[1].version = 2;
	snprintf(rows[1].name, sizeof(rows[1].name), "two");
	memcpy(rows[1].checksum, set.items[1].checksum, MIGRATE_SHA256_HEX);
	rows[2].version = 3;
	snprintf(rows[2].name, sizeof(rows[2].name), "three");
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 3, &current, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "0003_three"));
	ck_assert_int_eq(
	    store_migrate_verify(&set, rows, 2, &current, err, sizeof(err)), 0);
	ck_assert_int_eq(current, 2);

	store_migrate_set_release(&set);
	remove_tmpdir();
}
END_TEST

START_TEST(test_read_file)
{
	char err[256], path[128], *s = NULL;
	size_t len = 0;

	make_tmpdir();
	write_file("0001_x.up.sql", "SELECT 1;\n");
	snprintf(path, sizeof(path), "%s/0001_x.up.sql", tmpdir);
	ck_assert_int_eq(
	    store_migrate_read_file(path, &s, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(s, "SELECT 1;\n");
	free(s);
	ck_assert_int_eq(
	    store_migrate_read_file(tmpdir, &s, &len, err, sizeof(err)), -1);
	remove_tmpdir();
}
END_TEST

/*
 * The shipped migrations: both dialects scan cleanly and carry the same
 * versions with the same names, whatever the newest version is.
 */
START_TEST(test_project_dialects_match)
{
	struct migration_set my, pg;
	char err[512];
	size_t i;

	ck_assert_msg(access("sql/mysql", R_OK) == 0 &&
	                  access("sql/postgres", R_OK) == 0,
	              "run test_migrate from the repository root");
	ck_assert_msg(store_migrate_scan("sql/mysql", &my, err, sizeof(err)) ==
	                  0,
	              "sql/mysql: %s", err);
	ck_assert_msg(
	    store_migrate_scan("sql/postgres", &pg, err, sizeof(err)) == 0,
	    "sql/postgres: %s", err);
	ck_assert_uint_ge(my.n, 1);
	ck_assert_msg(my.n == pg.n,
	              "sql/mysql has %zu migrations, sql/postgres %zu", my.n,
	              pg.n);
	for (i = 0; i < my.n; i++) {
		ck_assert_int_eq(my.items[i].version, (int)i + 1);
		ck_assert_int_eq(pg.items[i].version, (int)i + 1);
		ck_assert_msg(strcmp(my.items[i].name, pg.items[i].name) == 0,
		              "migration %04zu is '%s' in sql/mysql but '%s' "
		              "in sql/postgres",
		              i + 1, my.items[i].name, pg.items[i].name);
	}
	store_migrate_set_release(&my);
	store_migrate_set_release(&pg);
}
END_TEST

static Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_filename);
	tcase_add_test(tc, test_parse_filename_bad);
	tcase_add_test(tc, test_checksum);
	tcase_add_test(tc, test_scan_orders_numerically);
	tcase_add_test(tc, test_scan_gap);
	tcase_add_test(tc, test_scan_must_start_at_one);
	tcase_add_test(tc, test_scan_duplicate);
	tcase_add_test(tc, test_scan_duplicate_down);
	tcase_add_test(tc, test_scan_missing_down);
	tcase_add_test(tc, test_scan_missing_up);
	tcase_add_test(tc, test_scan_mismatched_names);
	tcase_add_test(tc, test_scan_bad_name_and_empty);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_project_dialects_match);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(migrate_suite());
	int failed;

	/* No fork: ASan's leak check then covers every test. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
