#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/rtrw-config-XXXXXX";

static void
write_file(const char *name, const char *text, mode_t mode, char *path,
           size_t n)
{
	FILE *f;

	snprintf(path, n, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

START_TEST(parse_file_and_defaults)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	ck_assert_int_eq(config_parse(&c,
	                              "# comment\n\n"
	                              "listen = unix:/run/x.sock\n"
	                              "  workers=4  \n"
	                              "db_port = 3307\r\n",
	                              "test", err, sizeof(err)),
	                 0);
	ck_assert_str_eq(c.listen, "unix:/run/x.sock");
	ck_assert_int_eq(c.workers, 4);
	ck_assert_int_eq(c.db_port, 3307);
	ck_assert_str_eq(c.db_name, "rtrw");
	ck_assert_int_eq(c.max_body_bytes, 1048576);
}
END_TEST

START_TEST(parse_errors_say_where)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	ck_assert_int_eq(
	    config_parse(&c, "lisen = x\n", "f.conf", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "f.conf:1"));
	ck_assert_ptr_nonnull(strstr(err, "unknown key 'lisen'"));
	ck_assert_int_eq(
	    config_parse(&c, "\nworkers = many\n", "f.conf", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "f.conf:2"));
	ck_assert_int_eq(
	    config_parse(&c, "db_port = 70000\n", "f", err, sizeof(err)), -1);
	ck_assert_int_eq(
	    config_parse(&c, "no equals sign\n", "f", err, sizeof(err)), -1);
}
END_TEST

/* Requirement 15.3: backups are kept for at least 30 days. */
START_TEST(backup_retention_has_a_floor)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	ck_assert_int_eq(c.backup_retention_days, 30);
	ck_assert_int_eq(c.backup_key_id, 1);
	ck_assert_str_eq(c.db_backup_user, "rtrw_backup");
	ck_assert_int_eq(config_parse(&c, "backup_retention_days = 29\n", "f",
	                              err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "from 30"));
	ck_assert_int_eq(config_parse(&c, "backup_retention_days = 90\n", "f",
	                              err, sizeof(err)),
	                 0);
	ck_assert_int_eq(c.backup_retention_days, 90);
	ck_assert_int_eq(
	    config_parse(&c, "backup_key_id = 256\n", "f", err, sizeof(err)),
	    -1);
}
END_TEST

START_TEST(environment_overrides)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	setenv("RTRW_DB_PORT", "3310", 1);
	setenv("RTRW_MEMCACHED", "10.0.0.5:11211", 1);
	ck_assert_int_eq(config_apply_env(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.db_port, 3310);
	ck_assert_str_eq(c.memcached, "10.0.0.5:11211");
	setenv("RTRW_WORKERS", "-3", 1);
	ck_assert_int_eq(config_apply_env(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "RTRW_WORKERS"));
	unsetenv("RTRW_DB_PORT");
	unsetenv("RTRW_MEMCACHED");
	unsetenv("RTRW_WORKERS");
}
END_TEST

START_TEST(secrets_are_checked)
{
	struct config c;
	char err[512], jwt[256], key[256], path[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	config_defaults(&c);
	write_file("jwt.key",
	           "3f1c9a7e5b2d4f6081a3c5e7092b4d6f8a1c3e5f7092b4d6\n", 0600,
	           jwt, sizeof(jwt));
	write_file("data.key",
	           "00112233445566778899aabbccddeeff00112233445566778899aabbccd"
	           "deeff\n",
	           0600, key, sizeof(key));
	snprintf(c.jwt_secret_file, sizeof(c.jwt_secret_file), "%s", jwt);
	snprintf(c.data_key_file, sizeof(c.data_key_file), "%s", key);
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.jwt_secret_len, 48);
	ck_assert_uint_eq(c.data_key[1], 0x11);
	config_wipe(&c);
	ck_assert_uint_eq(c.data_key[1], 0);

	/* Readable by others. */
	chmod(jwt, 0644);
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "jwt secret"));
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	chmod(jwt, 0600);

	/* Too short, then all one character. */
	write_file("short.key", "abc\n", 0600, path, sizeof(path));
	snprintf(c.jwt_secret_file, sizeof(c.jwt_secret_file), "%s", path);
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "weak"));
	write_file("same.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0600,
	           path, sizeof(path));
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "weak"));

	/* Missing. */
	snprintf(c.jwt_secret_file, sizeof(c.jwt_secret_file), "%s/none", dir);
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing"));

	/* A data key that is not 64 hex digits. */
	snprintf(c.jwt_secret_file, sizeof(c.jwt_secret_file), "%s", jwt);
	write_file("bad.key", "xyz", 0600, path, sizeof(path));
	snprintf(c.data_key_file, sizeof(c.data_key_file), "%s", path);
	ck_assert_int_eq(config_load_secrets(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "data key"));
	ck_assert_int_eq(c.have_secrets, 0);
	ck_assert_uint_eq(c.jwt_secret_len, 0);
}
END_TEST

START_TEST(load_named_file)
{
	struct config c;
	char err[256], path[256];

	if (dir[sizeof(dir) - 2] == 'X')
		ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file("rtrw.conf", "workers = 3\nlog_level = debug\n", 0644, path,
	           sizeof(path));
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.workers, 3);
	write_file("bad.conf", "log_level = loud\n", 0644, path, sizeof(path));
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_int_eq(
	    config_load(&c, "/nonexistent/rtrw.conf", err, sizeof(err)), -1);
}
END_TEST

UNIT_MAIN("config", parse_file_and_defaults, parse_errors_say_where,
          backup_retention_has_a_floor, environment_overrides,
          secrets_are_checked, load_named_file)
