/*
 * Schema migrations for MariaDB and PostgreSQL (rtrw-migrate).
 *
 * A migration directory (sql/mysql or sql/postgres) holds pairs of files
 * named NNNN_name.up.sql and NNNN_name.down.sql: a four-digit version
 * starting at 0001 without gaps, and a name of lower-case letters, digits
 * and underscores.  Files that do not end in ".sql" are ignored; a ".sql"
 * file with any other name is an error, so that a typo cannot hide a
 * migration.
 *
 * The database records what it has applied in schema_migrations
 * (version, name, checksum, applied_at).  The checksum is the SHA-256 of
 * the up file; before every command each applied migration is compared
 * with its file, and an edited migration is refused by name.  Changes to
 * an applied migration go into a new migration instead.
 *
 * The SQL runs through a small driver interface so that the logic here
 * (discover, order, verify, plan) is the same for both databases:
 *
 *   - MariaDB runs a whole file as one multi-statement query and drains
 *     every result, so CREATE TRIGGER ... BEGIN ... END needs no DELIMITER.
 *     MariaDB commits DDL implicitly, so a file that fails halfway leaves
 *     its earlier statements applied; the error says so.
 *   - PostgreSQL runs a file and its schema_migrations row in one
 *     transaction, so a failing migration leaves nothing behind.  A file
 *     must therefore not contain BEGIN/COMMIT itself.
 *
 * Values (versions, names, checksums, seed data) always travel as bound
 * parameters.
 *
 * Layer: data.  It holds SQL for both dialects and opens its own admin
 * connections, so it lives in lib/store/ beside the statement tables
 * without using lib/db.h.
 */
#ifndef RTRW_STORE_MIGRATE_H
#define RTRW_STORE_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct config;

#define MIGRATE_NAME_MAX    200 /* schema_migrations.name */
#define MIGRATE_VERSION_MAX 9999
#define MIGRATE_FILE_MAX    (8 * 1024 * 1024) /* bytes in one SQL file */
#define MIGRATE_SHA256_HEX  65                /* 64 hex digits and a NUL */

/* One migration found on disk: both files of a pair. */
struct migration {
	int version;
	char name[MIGRATE_NAME_MAX + 1];
	char *up_path;                       /* owned; dir/NNNN_name.up.sql */
	char *down_path;                     /* owned; dir/NNNN_name.down.sql */
	char up_file[MIGRATE_NAME_MAX + 16]; /* base name, for messages */
	char checksum[MIGRATE_SHA256_HEX];   /* SHA-256 hex of the up file */
};

/* Every migration of a directory, sorted by version 1..n. */
struct migration_set {
	struct migration *items;
	size_t n;
};

/* One row of schema_migrations. */
struct migrate_applied {
	int version;
	char name[MIGRATE_NAME_MAX + 1];
	char checksum[MIGRATE_SHA256_HEX];
	char applied_at[40]; /* as the database prints it, UTC */
};

struct migrate_driver;

/*
 * What a database must provide.  Every function returns 0 or -1 with a
 * sentence in err.  ctx is the driver's private connection state.
 */
struct migrate_driver_ops {
	/* Creates schema_migrations if it does not exist. */
	int (*ensure_table)(void *ctx, char *err, size_t errlen);

	/*
	 * Reads schema_migrations ordered by version into a new array the
	 * caller frees with free().
	 */
	int (*list_applied)(void *ctx, struct migrate_applied **out, size_t *n,
	                    char *err, size_t errlen);

	/*
	 * Runs the SQL text of one migration file and records (up) or
	 * removes (down) its schema_migrations row.
	 */
	int (*apply)(void *ctx, const struct migration *m, int up,
	             const char *sql, size_t len, char *err, size_t errlen);

	/*
	 * Runs one statement whose values are all bound as text parameters
	 * (nparams of them, none NULL); sql is written in the driver's own
	 * placeholder syntax.
	 */
	int (*exec_params)(void *ctx, const char *sql, int nparams,
	                   const char *const *params, char *err, size_t errlen);

	/* Closes the connection and frees ctx. */
	void (*close)(void *ctx);
};

enum migrate_dialect { MIGRATE_MYSQL, MIGRATE_POSTGRES };

struct migrate_driver {
	const struct migrate_driver_ops *ops;
	void *ctx;
	enum migrate_dialect dialect;
};

/*
 * Parses a migration file name such as "0001_core.up.sql".  Stores the
 * version, the name ("core", NUL-terminated in name[namelen]) and whether
 * it is the up (1) or down (0) half.  Returns 1 when it is a valid
 * migration file name, 0 when it is not (err says why), never -1.
 */
int store_migrate_parse_filename(const char *fname, int *version, char *name,
                                 size_t namelen, int *is_up, char *err,
                                 size_t errlen);

/*
 * Reads the SHA-256 of the file at path as 64 lower-case hex digits into
 * out.  Returns 0, or -1 with err.
 */
int store_migrate_checksum_file(const char *path, char out[MIGRATE_SHA256_HEX],
                                char *err, size_t errlen);

/*
 * Reads a whole file into a new NUL-terminated string (caller frees) of
 * *len bytes.  Empty files and files over MIGRATE_FILE_MAX are refused.
 * Returns 0, or -1 with err.
 */
int store_migrate_read_file(const char *path, char **out, size_t *len,
                            char *err, size_t errlen);

/*
 * Finds every migration in dir, checks that versions run 1..n without
 * gaps or duplicates and that each has both halves, and computes the up
 * checksums.  On success set holds them (release with
 * store_migrate_set_release()); on error set is empty and err names the
 * offending file or version.  Returns 0 or -1.
 */
int store_migrate_scan(const char *dir, struct migration_set *set, char *err,
                       size_t errlen);

/* Frees what store_migrate_scan() allocated; the set is empty afterwards. */
void store_migrate_set_release(struct migration_set *set);

/*
 * Compares the applied rows with the files: the applied versions must be
 * exactly 1..k with k <= set->n, and each must have the same name and
 * checksum as its file.  Returns 0 and stores k in *current, or -1 with
 * err naming the file that differs.
 */
int store_migrate_verify(const struct migration_set *set,
                         const struct migrate_applied *applied, size_t napplied,
                         int *current, char *err, size_t errlen);

/*
 * Connects to MariaDB as configured (db_socket if set, else
 * db_host:db_port; db_admin_user or else db_user; the password from
 * db_admin_password_file or else db_password_file), sets the session to
 * utf8mb4 and UTC, and takes the named lock "rtrw_migrate" so that two
 * migrators cannot run at once.  Returns 0, or -1 with err.
 */
int store_migrate_mysql_open(struct migrate_driver *d, const struct config *c,
                             char *err, size_t errlen);

/*
 * Connects to PostgreSQL with a libpq conninfo string (empty: libpq's
 * PG* environment defaults), sets the session to UTC and takes an
 * advisory lock.  Returns 0, or -1 with err.
 */
int store_migrate_pg_open(struct migrate_driver *d, const char *conninfo,
                          char *err, size_t errlen);

/* Closes the driver's connection; safe on a driver that never opened. */
void store_migrate_driver_close(struct migrate_driver *d);

/*
 * Brings the database to version target (0..set->n; -1 means the newest)
 * applying up or down migrations in order, one line per migration and a
 * summary on out.  Verifies checksums first.  Returns 0 or -1 with err.
 */
int store_migrate_to(struct migrate_driver *d, const struct migration_set *set,
                     int target, FILE *out, char *err, size_t errlen);

/*
 * Reverts the newest n applied migrations (n < 0: all of them).
 * Returns 0 or -1 with err.
 */
int store_migrate_down(struct migrate_driver *d,
                       const struct migration_set *set, int n, FILE *out,
                       char *err, size_t errlen);

/*
 * Prints one line per migration (applied with its time, or pending) and
 * the current version.  Returns 0 or -1 with err.
 */
int store_migrate_status(struct migrate_driver *d,
                         const struct migration_set *set, FILE *out, char *err,
                         size_t errlen);

/*
 * Inserts the reference data every installation needs (the four roles).
 * Running it again changes nothing.  Needs migration 0001 applied.  Demo
 * data is not seeded here: `rtrw-admin demo` makes the demo tenant and
 * its users with real password hashes.  Returns 0 or -1 with err.
 */
int store_migrate_seed(struct migrate_driver *d,
                       const struct migration_set *set, FILE *out, char *err,
                       size_t errlen);

#endif
