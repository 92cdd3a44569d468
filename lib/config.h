/*
 * Configuration: one file of "key = value" lines plus environment
 * overrides.  The file is /etc/rtrw/rtrw.conf in production (var/rtrw.conf
 * in the local stack); --config or RTRW_CONFIG names another.  Every key
 * can be overridden by the environment variable RTRW_<KEY> in upper case,
 * e.g. RTRW_DB_PORT=3307.  Unknown keys in the file are an error, so that
 * a typo does not silently fall back to a default.
 *
 * Secrets never sit in the file itself: jwt_secret_file and data_key_file
 * name files that must be mode 0600 or stricter.  config_load_secrets()
 * refuses to go on with a missing, readable-by-others or weak secret and
 * says which.
 */
#ifndef RTRW_CONFIG_H
#define RTRW_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/rtrw/rtrw.conf"
#define CONFIG_STR_MAX      256
#define JWT_SECRET_MIN      32 /* bytes */
#define JWT_SECRET_MAX      512
#define DATA_KEY_LEN        32 /* AES-256 */

struct config {
	/* FastCGI listener: "unix:/path" or "host:port". */
	char listen[CONFIG_STR_MAX];
	int listen_backlog;
	int workers; /* 0 = number of cores */

	/* MariaDB: the application's connection. */
	char db_host[CONFIG_STR_MAX];
	int db_port;
	char db_socket[CONFIG_STR_MAX];
	char db_name[CONFIG_STR_MAX];
	char db_user[CONFIG_STR_MAX];
	char db_password_file[CONFIG_STR_MAX];
	/* The schema owner's account, used by rtrw-migrate only. */
	char db_admin_user[CONFIG_STR_MAX];
	char db_admin_password_file[CONFIG_STR_MAX];
	int db_connect_timeout; /* seconds */

	/* memcached: "host:port" or "/path/to/socket". */
	char memcached[CONFIG_STR_MAX];

	char jwt_secret_file[CONFIG_STR_MAX];
	char data_key_file[CONFIG_STR_MAX];

	/* Hosts the app and maintenance accounts exist for ("a,b"). */
	char db_account_hosts[CONFIG_STR_MAX];
	/* The archive job's account (may delete audit rows > 365 days). */
	char db_maint_user[CONFIG_STR_MAX];
	char db_maint_password_file[CONFIG_STR_MAX];

	/*
	 * Backups (rtrw-backup, lib/backupjob.c).  The backup account reads
	 * every table, writes the backups table and sees and rotates the
	 * binary logs; it never writes tenant data.
	 */
	char db_backup_user[CONFIG_STR_MAX];
	char db_backup_password_file[CONFIG_STR_MAX];
	char backup_dir[CONFIG_STR_MAX];     /* containers and manifests */
	char backup_key_dir[CONFIG_STR_MAX]; /* <id>.key files, 0600 */
	int backup_key_id;                   /* the key new files use */
	int backup_retention_days;           /* 30 or more */
	int backup_zstd_level;
	char backup_scratch_dir[CONFIG_STR_MAX]; /* test loads, restores */
	int backup_scratch_buffer_pool_mb;

	/* Tokens and passwords. */
	int access_ttl_seconds;
	int refresh_ttl_seconds;
	int jwt_leeway_seconds;
	int argon2_m_kib;
	int argon2_t;
	int argon2_p;

	/* Rate limits and abuse blocking (counters live in memcached). */
	int rate_limit_per_minute;     /* per user */
	int rate_limit_ip_per_minute;  /* unauthenticated, per IP */
	int register_limit_per_hour;   /* tenant registrations per IP */
	int login_fail_ip_limit;       /* failures from one IP ... */
	int login_fail_account_limit;  /* ... or on one account ... */
	int login_fail_window_seconds; /* ... within this window */
	int block_seconds;             /* how long a block lasts */

	int dashboard_cache_seconds; /* GET /dashboard/stats cache; 0: none */
	/*
	 * How long a worker may reuse the caller's users row it read (role,
	 * active) before reading it again; 0 reads it on every request.
	 */
	int auth_cache_ms;
	long max_body_bytes;
	long arena_cap_bytes;
	char log_level[16];

	/*
	 * MikroTik routers and rtrw-provision (README "Provisioning").
	 * provision_nudge: where the API sends a datagram after committing
	 * a job, "host:port[,host:port...]" (IP literals), "" for none; the
	 * daemon listens on the first.
	 */
	char provision_nudge[CONFIG_STR_MAX];
	int provision_poll_ms;      /* the daemon's poll when not nudged */
	int provision_batch;        /* jobs of one router per pass */
	int provision_workers;      /* passes of different routers at once */
	int provision_max_attempts; /* tries of a job before failed */
	int provision_retry_base_seconds;       /* first back-off of a job */
	int provision_retry_max_seconds;        /* its cap */
	int provision_router_pause_max_seconds; /* cap of a down router's pause
	                                         */
	int router_connect_timeout_ms;          /* TCP + TLS, API and daemon */
	int router_read_timeout_ms;             /* login and each reply */

	/*
	 * Mail: the platform's SMTP server, used for platform mail and for
	 * every tenant without SMTP settings of its own, and the mailer's
	 * timing (rtrw-mailer, lib/mailer.h).
	 */
	char smtp_host[CONFIG_STR_MAX]; /* empty: no platform server */
	int smtp_port;
	char smtp_security[24]; /* starttls|starttls_optional|tls|none */
	char smtp_username[CONFIG_STR_MAX];
	char smtp_password_file[CONFIG_STR_MAX];
	char smtp_from[CONFIG_STR_MAX]; /* the envelope and From address */
	char smtp_from_name[CONFIG_STR_MAX];
	int smtp_verify_tls;
	char smtp_ca_file[CONFIG_STR_MAX];
	int smtp_connect_timeout_seconds;
	int smtp_timeout_seconds;
	char mail_domain[CONFIG_STR_MAX]; /* Message-ID and EHLO name */
	int mail_poll_seconds;
	int mail_retry_seconds;
	int mail_lease_seconds;

	/*
	 * The WebSocket daemon (rtrw-events): its listener for nginx,
	 * "host:port" on loopback; the datagram socket writers nudge it
	 * through (every process that emits events needs the path); how
	 * often it polls the tenants it serves for events it was not nudged
	 * about; the keep-alive ping interval (a peer silent for twice as
	 * long is dropped); how many clients it takes; how many days the
	 * retention job keeps events.
	 */
	char events_listen[CONFIG_STR_MAX];
	char events_socket[CONFIG_STR_MAX];
	int events_poll_ms;
	int events_ping_seconds;
	int events_max_connections;
	int events_retention_days;

	/*
	 * Usage monitoring (lib/usage.h, lib/collect.h): how long each
	 * level is kept, the rate above which a counter's jump is dropped
	 * as implausible, and the budget of GET .../usage/realtime.
	 */
	int usage_raw_hours;
	int usage_5m_days;
	int usage_hourly_days;
	int usage_daily_days;
	long usage_max_bps;
	int usage_realtime_timeout_ms;

	/*
	 * Reports (rtrw-reports, lib/report.h): the directory of the files
	 * (rtrw-api serves downloads from it, so every host running either
	 * must see it), how many days a file is kept, how often the service
	 * looks for work, how long a running report may go without a
	 * heartbeat before another service takes it over, and the base URL
	 * of the emailed download links ("https://api.example.id").
	 */
	char reports_dir[CONFIG_STR_MAX];
	int reports_retention_days;
	int reports_poll_ms;
	int reports_lease_seconds;
	char public_url[CONFIG_STR_MAX];

	/* Filled by config_load_secrets(). */
	unsigned char jwt_secret[JWT_SECRET_MAX];
	size_t jwt_secret_len;
	unsigned char data_key[DATA_KEY_LEN];
	int have_secrets;
};

/* Fills c with the built-in defaults. */
void config_defaults(struct config *c);

/*
 * Loads defaults, then the file at path (NULL: RTRW_CONFIG or the default
 * path; a missing default file is not an error, a missing named one is),
 * then the environment.  Returns 0, or -1 with a sentence in err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Parses one file's text into c (used by config_load and the unit tests). */
int config_parse(struct config *c, const char *text, const char *source,
                 char *err, size_t errlen);

/* Applies RTRW_* environment variables to c. */
int config_apply_env(struct config *c, char *err, size_t errlen);

/*
 * Reads the JWT key and the data-encryption key.  The JWT key file holds
 * at least 32 bytes (trailing newline ignored) that are not all the same;
 * the data key file holds exactly 64 hex digits.  Both files must be
 * regular files without group or other permission bits.  Returns 0, or -1
 * with a sentence in err naming the secret at fault.
 */
int config_load_secrets(struct config *c, char *err, size_t errlen);

/*
 * Reads a password file (one line; trailing newline dropped) into out.
 * An empty path gives an empty password.  0 or -1 with err.
 */
int config_read_password(const char *path, char *out, size_t outlen, char *err,
                         size_t errlen);

/* Wipes the secrets held in c. */
void config_wipe(struct config *c);

#endif
