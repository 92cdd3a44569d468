#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

enum ckey_type { CK_STR, CK_INT, CK_LONG };

struct ckey {
	const char *name;
	enum ckey_type type;
	size_t offset;
	size_t size; /* for strings */
	long min, max;
};

#define S(f)                                                                   \
	{                                                                      \
#f, CK_STR, offsetof(struct config, f),                        \
		    sizeof(((struct config *)0)->f), 0, 0                      \
	}
#define I(f, lo, hi)                                                           \
	{                                                                      \
#f, CK_INT, offsetof(struct config, f), 0, lo, hi              \
	}
#define L(f, lo, hi)                                                           \
	{                                                                      \
#f, CK_LONG, offsetof(struct config, f), 0, lo, hi             \
	}

/* clang-format off */
static const struct ckey ckeys[] = {
	S(listen),
	I(listen_backlog, 1, 65535),
	I(workers, 0, 1024),
	S(db_host),
	I(db_port, 1, 65535),
	S(db_socket),
	S(db_name),
	S(db_user),
	S(db_password_file),
	S(db_admin_user),
	S(db_admin_password_file),
	I(db_connect_timeout, 1, 600),
	S(memcached),
	S(jwt_secret_file),
	S(data_key_file),
	S(db_account_hosts),
	S(db_maint_user),
	S(db_maint_password_file),
	S(db_backup_user),
	S(db_backup_password_file),
	S(backup_dir),
	S(backup_key_dir),
	I(backup_key_id, 1, 255),
	/* Requirement 15.3: never fewer than 30 days. */
	I(backup_retention_days, 30, 3650),
	I(backup_zstd_level, 1, 19),
	S(backup_scratch_dir),
	I(backup_scratch_buffer_pool_mb, 64, 65536),
	I(access_ttl_seconds, 60, 86400),
	I(refresh_ttl_seconds, 300, 365 * 86400),
	I(jwt_leeway_seconds, 0, 300),
	I(argon2_m_kib, 8192, 4 * 1024 * 1024),
	I(argon2_t, 1, 100),
	I(argon2_p, 1, 64),
	I(rate_limit_per_minute, 1, 1000000),
	I(rate_limit_ip_per_minute, 1, 1000000),
	I(register_limit_per_hour, 1, 1000000),
	I(login_fail_ip_limit, 1, 1000000),
	I(login_fail_account_limit, 1, 1000000),
	I(login_fail_window_seconds, 1, 86400),
	I(block_seconds, 1, 86400 * 7),
	I(dashboard_cache_seconds, 0, 86400),
	I(auth_cache_ms, 0, 60000),
	L(max_body_bytes, 1024, 64L * 1024 * 1024),
	L(arena_cap_bytes, 65536, 1024L * 1024 * 1024),
	S(log_level),
	S(provision_nudge),
	I(provision_poll_ms, 50, 60000),
	I(provision_batch, 1, 5000),
	I(provision_workers, 1, 64),
	I(provision_max_attempts, 1, 1000),
	I(provision_retry_base_seconds, 1, 3600),
	I(provision_retry_max_seconds, 1, 86400),
	I(provision_router_pause_max_seconds, 1, 3600),
	I(router_connect_timeout_ms, 100, 30000),
	I(router_read_timeout_ms, 100, 60000),
	S(smtp_host),
	I(smtp_port, 1, 65535),
	S(smtp_security),
	S(smtp_username),
	S(smtp_password_file),
	S(smtp_from),
	S(smtp_from_name),
	I(smtp_verify_tls, 0, 1),
	S(smtp_ca_file),
	I(smtp_connect_timeout_seconds, 1, 300),
	I(smtp_timeout_seconds, 1, 3600),
	S(mail_domain),
	I(mail_poll_seconds, 1, 3600),
	I(mail_retry_seconds, 0, 86400),
	I(mail_lease_seconds, 30, 86400),
	S(events_listen),
	S(events_socket),
	I(events_poll_ms, 50, 60000),
	I(events_ping_seconds, 1, 3600),
	I(events_max_connections, 1, 1000000),
	I(events_retention_days, 1, 3650),
	I(usage_raw_hours, 1, 24 * 366),
	I(usage_5m_days, 1, 366),
	I(usage_hourly_days, 1, 3660),
	I(usage_daily_days, 1, 36600),
	L(usage_max_bps, 1000000, 1000000000000L),
	I(usage_realtime_timeout_ms, 200, 30000),
	S(reports_dir),
	I(reports_retention_days, 1, 3650),
	I(reports_poll_ms, 50, 60000),
	I(reports_lease_seconds, 10, 86400),
	S(public_url),
};
/* clang-format on */

#undef S
#undef I
#undef L

static void
set_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	set_str(c->listen, sizeof(c->listen), "unix:/run/rtrw/api.sock");
	c->listen_backlog = 1024;
	c->workers = 0;
	set_str(c->db_host, sizeof(c->db_host), "127.0.0.1");
	c->db_port = 3306;
	set_str(c->db_name, sizeof(c->db_name), "rtrw");
	set_str(c->db_user, sizeof(c->db_user), "rtrw");
	c->db_connect_timeout = 3;
	set_str(c->memcached, sizeof(c->memcached), "127.0.0.1:11211");
	set_str(c->jwt_secret_file, sizeof(c->jwt_secret_file),
	        "/etc/rtrw/jwt.key");
	set_str(c->data_key_file, sizeof(c->data_key_file),
	        "/etc/rtrw/data.key");
	set_str(c->db_maint_user, sizeof(c->db_maint_user), "rtrw_maint");
	set_str(c->db_account_hosts, sizeof(c->db_account_hosts),
	        "localhost,127.0.0.1");
	set_str(c->db_backup_user, sizeof(c->db_backup_user), "rtrw_backup");
	set_str(c->backup_dir, sizeof(c->backup_dir), "/var/lib/rtrw/backups");
	set_str(c->backup_key_dir, sizeof(c->backup_key_dir),
	        "/etc/rtrw/backup-keys");
	c->backup_key_id = 1;
	c->backup_retention_days = 30;
	c->backup_zstd_level = 3;
	set_str(c->backup_scratch_dir, sizeof(c->backup_scratch_dir),
	        "/var/tmp");
	c->backup_scratch_buffer_pool_mb = 512;
	c->access_ttl_seconds = 900;
	c->refresh_ttl_seconds = 30 * 86400;
	c->jwt_leeway_seconds = 30;
	/* OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane. */
	c->argon2_m_kib = 19456;
	c->argon2_t = 2;
	c->argon2_p = 1;
	c->rate_limit_per_minute = 100;
	c->rate_limit_ip_per_minute = 300;
	c->register_limit_per_hour = 10;
	c->login_fail_ip_limit = 10;
	c->login_fail_account_limit = 5;
	c->login_fail_window_seconds = 300;
	c->block_seconds = 900;
	c->dashboard_cache_seconds = 300;
	c->auth_cache_ms = 1000;
	c->max_body_bytes = 1024 * 1024;
	c->arena_cap_bytes = 16L * 1024 * 1024;
	set_str(c->log_level, sizeof(c->log_level), "info");
	set_str(c->provision_nudge, sizeof(c->provision_nudge),
	        "127.0.0.1:8730");
	c->provision_poll_ms = 1000;
	c->provision_batch = 500;
	c->provision_workers = 8;
	c->provision_max_attempts = 8;
	c->provision_retry_base_seconds = 10;
	c->provision_retry_max_seconds = 900;
	c->provision_router_pause_max_seconds = 60;
	c->router_connect_timeout_ms = 2000;
	c->router_read_timeout_ms = 5000;
	c->smtp_port = 587;
	set_str(c->smtp_security, sizeof(c->smtp_security), "starttls");
	set_str(c->smtp_from_name, sizeof(c->smtp_from_name), "RT/RW Net");
	c->smtp_verify_tls = 1;
	c->smtp_connect_timeout_seconds = 10;
	c->smtp_timeout_seconds = 60;
	c->mail_poll_seconds = 5;
	/* Retries wait 2 and then 8 minutes (lib/mailer.c). */
	c->mail_retry_seconds = 120;
	c->mail_lease_seconds = 300;
	set_str(c->events_listen, sizeof(c->events_listen), "127.0.0.1:8091");
	set_str(c->events_socket, sizeof(c->events_socket),
	        "/run/rtrw-events/nudge.sock");
	c->events_poll_ms = 500;
	c->events_ping_seconds = 30;
	c->events_max_connections = 10000;
	c->events_retention_days = 7;
	c->usage_raw_hours = 48;
	c->usage_5m_days = 8;
	c->usage_hourly_days = 35;
	c->usage_daily_days = 730;
	c->usage_max_bps = 10000000000L;
	c->usage_realtime_timeout_ms = 2000;
	set_str(c->reports_dir, sizeof(c->reports_dir),
	        "/var/lib/rtrw/reports");
	c->reports_retention_days = 30;
	c->reports_poll_ms = 1000;
	c->reports_lease_seconds = 300;
}

static const struct ckey *
ckey_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(ckeys); i++)
		if (strlen(ckeys[i].name) == len &&
		    memcmp(ckeys[i].name, name, len) == 0)
			return &ckeys[i];
	return NULL;
}

static int
ckey_set(struct config *c, const struct ckey *k, const char *value,
         const char *source, char *err, size_t errlen)
{
	char *base = (char *)c + k->offset;
	int64_t v;

	switch (k->type) {
	case CK_STR:
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value of '%s' is too long",
			         source, k->name);
			return -1;
		}
		set_str(base, k->size, value);
		return 0;
	case CK_INT:
	case CK_LONG:
		if (parse_int64(value, k->min, k->max, &v) < 0) {
			snprintf(err, errlen,
			         "%s: '%s' must be an integer from %ld to %ld",
			         source, k->name, k->min, k->max);
			return -1;
		}
		if (k->type == CK_INT)
			*(int *)(void *)base = (int)v;
		else
			*(long *)(void *)base = (long)v;
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	                   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

int
config_parse(struct config *c, const char *text, const char *source, char *err,
             size_t errlen)
{
	char *copy = xstrdup(text), *line, *next;
	int lineno = 0, rc = 0;

	for (line = copy; line && rc == 0; line = next) {
		char *eq, *key, *value, where[CONFIG_STR_MAX + 32];
		const struct ckey *k;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%d", source, lineno);
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(err, errlen, "%s: expected 'key = value'",
			         where);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		k = ckey_find(key, strlen(key));
		if (!k) {
			snprintf(err, errlen, "%s: unknown key '%s'", where,
			         key);
			rc = -1;
			break;
		}
		rc = ckey_set(c, k, value, where, err, errlen);
	}
	free(copy);
	return rc;
}

int
config_apply_env(struct config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(ckeys); i++) {
		char name[64] = "RTRW_";
		const char *value;
		size_t n = strlen(name);

		for (const char *p = ckeys[i].name; *p && n < sizeof(name) - 1;
		     p++)
			name[n++] = (char)toupper((unsigned char)*p);
		name[n] = '\0';
		value = getenv(name);
		if (value && ckey_set(c, &ckeys[i], value, name, err, errlen))
			return -1;
	}
	return 0;
}

/* Reads a small file whole; returns malloc'd text or NULL with err. */
static char *
read_small_file(const char *path, size_t max, size_t *lenp, char *err,
                size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
		         strerror(errno));
		return NULL;
	}
	text = xmalloc(max + 1);
	n = fread(text, 1, max + 1, f);
	if (ferror(f) || n > max) {
		snprintf(err, errlen, "cannot read '%s': %s", path,
		         ferror(f) ? strerror(errno) : "file too large");
		fclose(f);
		explicit_bzero(text, max + 1);
		free(text);
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	if (lenp)
		*lenp = n;
	return text;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	int explicit_path = 1;
	char *text;
	int rc;

	config_defaults(c);
	if (!path)
		path = getenv("RTRW_CONFIG");
	if (!path) {
		path = CONFIG_DEFAULT_PATH;
		explicit_path = 0;
	}
	if (access(path, F_OK) < 0 && !explicit_path)
		return config_apply_env(c, err, errlen);
	text = read_small_file(path, 1024 * 1024, NULL, err, errlen);
	if (!text)
		return -1;
	rc = config_parse(c, text, path, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	rc = config_apply_env(c, err, errlen);
	if (rc == 0 && log_level_parse(c->log_level) < 0) {
		snprintf(err, errlen, "unknown log_level '%s'", c->log_level);
		rc = -1;
	}
	return rc;
}

/*
 * A secret file must be a regular file that only its owner can read, or
 * any local user could mint tokens or decrypt customer secrets.
 */
static int
check_secret_mode(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path[0] == '\0') {
		snprintf(err, errlen, "%s is not configured", what);
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s '%s' is missing: %s", what, path,
		         strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s '%s' is not a regular file", what,
		         path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
		         "%s '%s' is readable by group or others (mode %03o); "
		         "chmod 600 it",
		         what, path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

int
config_load_secrets(struct config *c, char *err, size_t errlen)
{
	char *text;
	size_t n, i;

	if (check_secret_mode("jwt secret", c->jwt_secret_file, err, errlen))
		return -1;
	text = read_small_file(c->jwt_secret_file, JWT_SECRET_MAX + 2, &n, err,
	                       errlen);
	if (!text)
		return -1;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	for (i = 1; i < n && text[i] == text[0]; i++)
		;
	if (n < JWT_SECRET_MIN || n > JWT_SECRET_MAX || i == n) {
		snprintf(err, errlen,
		         "jwt secret '%s' is weak: it needs %d to %d bytes "
		         "that are not all the same (generate one with "
		         "'openssl rand -hex 32')",
		         c->jwt_secret_file, JWT_SECRET_MIN, JWT_SECRET_MAX);
		explicit_bzero(text, n);
		free(text);
		return -1;
	}
	memcpy(c->jwt_secret, text, n);
	c->jwt_secret_len = n;
	explicit_bzero(text, n);
	free(text);

	if (check_secret_mode("data key", c->data_key_file, err, errlen))
		goto out_wipe;
	text = read_small_file(c->data_key_file, 256, &n, err, errlen);
	if (!text)
		goto out_wipe;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (n != 2 * DATA_KEY_LEN ||
	    hex_decode(text, DATA_KEY_LEN, c->data_key) < 0) {
		snprintf(err, errlen,
		         "data key '%s' must be exactly %d hex digits "
		         "(generate one with 'openssl rand -hex 32')",
		         c->data_key_file, 2 * DATA_KEY_LEN);
		explicit_bzero(text, n);
		free(text);
		goto out_wipe;
	}
	for (i = 1; i < DATA_KEY_LEN && c->data_key[i] == c->data_key[0]; i++)
		;
	explicit_bzero(text, n);
	free(text);
	if (i == DATA_KEY_LEN) {
		snprintf(err, errlen, "data key '%s' is weak: all bytes equal",
		         c->data_key_file);
		goto out_wipe;
	}
	c->have_secrets = 1;
	return 0;

out_wipe:
	config_wipe(c);
	return -1;
}

int
config_read_password(const char *path, char *out, size_t outlen, char *err,
                     size_t errlen)
{
	char *text;
	size_t n;

	out[0] = '\0';
	if (!path || path[0] == '\0')
		return 0;
	text = read_small_file(path, 1024, &n, err, errlen);
	if (!text)
		return -1;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	if (n >= outlen) {
		snprintf(err, errlen, "password in '%s' is too long", path);
		explicit_bzero(text, n);
		free(text);
		return -1;
	}
	memcpy(out, text, n + 1);
	explicit_bzero(text, n);
	free(text);
	return 0;
}

void
config_wipe(struct config *c)
{
	explicit_bzero(c->jwt_secret, sizeof(c->jwt_secret));
	explicit_bzero(c->data_key, sizeof(c->data_key));
	c->jwt_secret_len = 0;
	c->have_secrets = 0;
}
