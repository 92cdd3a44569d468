/*
 * The data layer: one MariaDB connection per worker, prepared statements
 * only, and a tenant-scoped handle that makes forgetting tenant_id
 * impossible (STYLE.md section 3).
 *
 * SQL lives in lib/store/<res>.c as tables of struct stmt_def.  Each
 * statement is SCOPE_TENANT or SCOPE_GLOBAL and declares one letter per
 * '?' placeholder:
 *
 *	t  the tenant id, bound from the struct tdb (never by the caller)
 *	i  a 64-bit integer
 *	s  a UTF-8 string
 *	d  a decimal literal passed as a string ("1500.00")
 *	b  bytes (binary columns)
 *
 * db_check_statements() runs at start-up: every SCOPE_TENANT statement
 * must compare tenant_id with a 't' placeholder (an INSERT must list
 * tenant_id first and bind it with 't'), every "tenant_id = ?" must be a
 * 't', and a SCOPE_GLOBAL statement may have no 't'.  A table that breaks
 * the rule makes the worker refuse to start.  Handlers only ever hold a
 * struct tdb; SCOPE_GLOBAL statements run through struct db, which only
 * jobs, platform routes and health reach.
 *
 * Every result value arrives as text in the request's arena, typed by the
 * column metadata so that JSON output can be exact (DECIMAL stays decimal).
 */
#ifndef RTRW_DB_H
#define RTRW_DB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct arena;
struct config;

/*
 * SCOPE_MAINT statements are global statements only the maintenance
 * account may run (deleting archived audit rows); the API never prepares
 * them.
 */
enum scope { SCOPE_TENANT, SCOPE_GLOBAL, SCOPE_MAINT };

struct stmt_def {
	const char *name; /* for logs: "tenant_by_slug" */
	enum scope scope;
	const char *params; /* one letter per '?', see above */
	const char *sql;
	/*
	 * Optional whitelist of ORDER BY clauses, NULL-terminated.  The SQL
	 * then holds the marker {ORDER}, and each clause becomes its own
	 * prepared statement: sort orders are chosen from this table by
	 * index, never built from request text.  An entry "ix_name|id DESC"
	 * also names the index that serves it, put in place of {INDEX}.
	 */
	const char *const *orders;
};

/* A bound parameter value. */
struct dbv {
	char type; /* 'i', 's', 'd', 'b' */
	int is_null;
	int64_t i;
	const char *s;
	size_t len;
};

/* A string value; NULL becomes SQL NULL. */
static inline struct dbv
db_str(const char *s)
{
	struct dbv v = {
	    .type = 's', .s = s, .len = s ? strlen(s) : 0, .is_null = !s};
	return v;
}

/* A decimal literal ("1500.00") as text; NULL becomes SQL NULL. */
static inline struct dbv
db_dec(const char *s)
{
	struct dbv v = db_str(s);

	v.type = 'd';
	return v;
}

/* Table entries: STMT(name, scope, params, sql), STMT_END closes. */
#define STMT(n, sc, p, q)                                                      \
	{                                                                      \
		(n), (sc), (p), (q), NULL                                      \
	}
#define STMT_ORDERED(n, sc, p, q, o)                                           \
	{                                                                      \
		(n), (sc), (p), (q), (o)                                       \
	}
#define STMT_END                                                               \
	{                                                                      \
		NULL, 0, NULL, NULL, NULL                                      \
	}

/* clang-format off */
#define DBI(x)      ((struct dbv){ .type = 'i', .i = (x) })
#define DBS(x)      db_str(x)
#define DBSN(x, n)  ((struct dbv){ .type = 's', .s = (x), .len = (n) })
#define DBD(x)      db_dec(x)
#define DBB(x, n)   ((struct dbv){ .type = 'b', .s = (const char *)(x), .len = (n) })
#define DBNULL(t)   ((struct dbv){ .type = (t), .is_null = 1 })
#define DB_ARGS(...) ((const struct dbv[]){ __VA_ARGS__ }), \
	(sizeof((const struct dbv[]){ __VA_ARGS__ }) / sizeof(struct dbv))
#define DB_NOARGS   NULL, 0
/* clang-format on */

enum db_coltype {
	DBT_STRING,
	DBT_INT,
	DBT_BOOL,
	DBT_DECIMAL,
	DBT_DATETIME,
	DBT_DATE,
	DBT_BINARY,
	DBT_FLOAT,
};

/* A result set, all of it in the arena. */
struct dbres {
	size_t nrows, ncols;
	const char **names;
	enum db_coltype *types;
	char **cells; /* nrows * ncols, row-major; NULL is SQL NULL */
	unsigned long *lens;
	uint64_t affected;  /* rows matched by UPDATE/DELETE, inserted rows */
	uint64_t insert_id; /* AUTO_INCREMENT id of an INSERT */
};

enum db_error {
	DBE_NONE = 0,
	DBE_CONN,      /* the server is unreachable: answer 503 */
	DBE_DUPLICATE, /* unique key violated: usually 409 */
	DBE_FK,        /* foreign key violated */
	DBE_LOCK,      /* deadlock or lock wait timeout */
	DBE_OTHER,
};

struct db;
struct tdb;

/*
 * Creates a connection object from the configuration and tries to
 * connect.  A server that is down is not an error here: queries answer
 * DBE_CONN until it is back, and reconnecting happens on its own.  The
 * password is read from db_password_file.  NULL only when that file
 * cannot be read (err says why).
 */
struct db *db_open(const struct config *c, int account, char *err,
                   size_t errlen);

/* The account argument of db_open(). */
#define DB_ACCOUNT_APP   0 /* db_user: the API and the jobs */
#define DB_ACCOUNT_ADMIN 1 /* db_admin_user: the schema owner, tools */
#define DB_ACCOUNT_MAINT 2 /* db_maint_user: the audit archive job */
void db_close(struct db *db);

/*
 * Checks every registered statement table (lib/store/registry.c) against
 * the tenant rule above.  0, or -1 with err naming the statement.
 */
int db_check_statements(char *err, size_t errlen);

/* Checks one table; used by db_check_statements() and the unit tests. */
int db_check_table(const struct stmt_def *defs, char *err, size_t errlen);

/*
 * Prepares every registered statement on the server, so that a typo in
 * SQL stops start-up instead of a request.  1 when all prepared, 0 when
 * the server is unreachable (not checked), -1 with err on a bad statement.
 */
int db_prepare_all(struct db *db, char *err, size_t errlen);

/* Runs SELECT 1; 0 when the server answers, -1 otherwise. */
int db_ping(struct db *db, struct arena *a);

/*
 * Runs a SCOPE_GLOBAL statement.  out may be NULL when no rows are
 * wanted.  Returns 0 or -1 (see db_last_error()).
 */
int db_query(struct db *db, struct arena *a, const struct stmt_def *def,
             const struct dbv *args, size_t nargs, struct dbres *out);

/* Transactions on the connection (global or tenant work alike). */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);
int db_in_transaction(const struct db *db);

/*
 * Called after every COMMIT (committed 1 when it succeeded) and every
 * ROLLBACK (committed 0) of any connection of the process, with the
 * connection's configuration.  One hook per process; NULL removes it.
 */
typedef void (*db_commit_hook)(const struct config *c, int committed);
void db_set_commit_hook(db_commit_hook fn);

/* The kind of the last failure on this connection. */
enum db_error db_last_error(const struct db *db);

/*
 * Opens the tenant-scoped handle for tenant_id, allocated in a.  The
 * handle cannot be re-pointed at another tenant.
 */
struct tdb *tdb_open(struct db *db, struct arena *a, int64_t tenant_id);

/* Runs a SCOPE_TENANT statement; 't' placeholders get the tenant id. */
int tdb_query(struct tdb *t, const struct stmt_def *def, const struct dbv *args,
              size_t nargs, struct dbres *out);

/* Same with the order-th clause of def->orders in place of {ORDER}. */
int tdb_query_order(struct tdb *t, const struct stmt_def *def, size_t order,
                    const struct dbv *args, size_t nargs, struct dbres *out);
int db_query_order(struct db *db, struct arena *a, const struct stmt_def *def,
                   size_t order, const struct dbv *args, size_t nargs,
                   struct dbres *out);

/* Number of ORDER BY variants of def (1 when it has none). */
size_t db_stmt_variants(const struct stmt_def *def);

/*
 * The tenant the handle is bound to, for values that must name it (the
 * audit hash, cache keys).  Statements never need it: 't' binds it.
 */
int64_t tdb_tenant(const struct tdb *t);

int tdb_begin(struct tdb *t);
int tdb_commit(struct tdb *t);
int tdb_rollback(struct tdb *t);
enum db_error tdb_last_error(const struct tdb *t);

/* Called after every request: rolls back a transaction left open. */
void db_request_done(struct db *db);

/* Cell access: the text of (row, col), NULL for SQL NULL. */
const char *dbres_get(const struct dbres *res, size_t row, size_t col);

/* Column index by name, or -1. */
int dbres_col(const struct dbres *res, const char *name);

/* Cell as int64 (0 for NULL or junk). */
int64_t dbres_int(const struct dbres *res, size_t row, size_t col);

/*
 * Row as a JSON object: integers and decimals as exact numbers, TINYINT(1)
 * as booleans, DATETIME as RFC 3339 UTC, DATE as "YYYY-MM-DD", binary
 * columns left out.  Columns named in json_cols (NULL-terminated, may be
 * NULL) hold JSON text and are embedded as JSON.  Caller owns the result.
 */
cJSON *dbres_row_json(const struct dbres *res, size_t row,
                      const char *const *json_cols);

/*
 * Writes row as a JSON object onto b with exactly the rules of
 * dbres_row_json(), without building a cJSON tree (lists of many rows).
 * Columns named in skip (NULL-terminated, may be NULL) are left out.
 */
struct buf;
void dbres_write_json(struct buf *b, const struct dbres *res, size_t row,
                      const char *const *json_cols, const char *const *skip);

/*
 * Copies a result into one heap block that outlives the request (free()
 * it).  Never returns NULL (allocation failure aborts).
 */
struct dbres *dbres_dup_heap(const struct dbres *res);

/* Formats "2026-11-27 10:15:00[.ffffff]" as "2026-11-27T10:15:00Z". */
void db_datetime_rfc3339(const char *in, char *out, size_t n);

#endif
