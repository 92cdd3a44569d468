/*
 * What the per-tenant export (lib/tenant_export.h, rtrw-admin tenant
 * export) reads: one tenant's rows of every table that has a tenant_id
 * column, in one consistent snapshot.  The tables and their columns are
 * found in information_schema when the export runs, so tables that later
 * migrations add are exported without a change anywhere; the statement
 * tables of lib/db.h cannot express a statement over a table named at
 * run time, so like lib/store/grants.c this talks to MariaDB through
 * mysql.h on a connection of its own.  Table and column names are
 * checked against [a-z0-9_]{1,64} before they are put into SQL (as
 * backquoted identifiers), and the tenant id is always a bound
 * parameter.
 *
 * Layer: data.
 */
#ifndef RTRW_STORE_TENANT_DUMP_H
#define RTRW_STORE_TENANT_DUMP_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct tenant_dump;

/* How the export writes a value: as a JSON number, an RFC 3339 time, text. */
enum tenant_dump_kind {
	TENANT_DUMP_TEXT,
	TENANT_DUMP_NUMBER, /* integers and decimals, exactly as stored */
	TENANT_DUMP_TIME,   /* DATETIME/TIMESTAMP, "YYYY-MM-DD HH:MM:SS" UTC */
};

/* One value of a row; v NULL is SQL NULL. */
struct tenant_dump_cell {
	const char *v;
	enum tenant_dump_kind kind;
};

/*
 * Connects as db_user of c and starts a read-only REPEATABLE READ
 * snapshot (times in UTC).  NULL with err.
 */
struct tenant_dump *store_tenant_dump_open(const struct config *c, char *err,
                                           size_t errlen);

/* Ends the snapshot and closes the connection; NULL is fine. */
void store_tenant_dump_close(struct tenant_dump *d);

/* Tenant id's slug and name: 1 found, 0 absent, -1 error (err). */
int store_tenant_dump_tenant(struct tenant_dump *d, int64_t id, char *slug,
                             size_t slug_len, char *name, size_t name_len,
                             char *err, size_t errlen);

/* The schema version (schema_migrations); 0 when unreadable. */
int64_t store_tenant_dump_schema_version(struct tenant_dump *d);

/*
 * Calls fn(ctx, name) for every base table with a tenant_id column, in
 * name order, and for nothing else; names that are not [a-z0-9_] are
 * skipped.  fn returns 0 to go on.  0, or -1 with err.
 */
int store_tenant_dump_tables(struct tenant_dump *d,
                             int (*fn)(void *ctx, const char *name), void *ctx,
                             char *err, size_t errlen);

/*
 * Calls fn(ctx, name, type, extra) for each column of table in order:
 * type is information_schema's column_type ("varbinary(255)"), extra its
 * extra ("STORED GENERATED").  0, or -1 with err.
 */
int store_tenant_dump_columns(struct tenant_dump *d, const char *table,
                              int (*fn)(void *ctx, const char *name,
                                        const char *type, const char *extra),
                              void *ctx, char *err, size_t errlen);

/* Calls fn(ctx, column) for each primary key column of table in order. */
int store_tenant_dump_key(struct tenant_dump *d, const char *table,
                          int (*fn)(void *ctx, const char *column), void *ctx,
                          char *err, size_t errlen);

/*
 * Streams the ncols columns cols of the rows of table that belong to
 * tenant_id (the tenants table: the tenant's own row), ordered by the
 * nkey columns key, into fn (cells[i] is cols[i]; valid during the call
 * only).  fn returns 0 to go on, -1 to stop (errno says why).  0, or -1
 * with err; a name that is not [a-z0-9_] is refused.
 */
int store_tenant_dump_rows(
    struct tenant_dump *d, const char *table, const char *const *cols,
    size_t ncols, const char *const *key, size_t nkey, int64_t tenant_id,
    int (*fn)(void *ctx, const struct tenant_dump_cell *cells, size_t n),
    void *ctx, char *err, size_t errlen);

#endif
